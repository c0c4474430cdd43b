// ByteSource over libcurl's multi interface: read() drives the transfer until the write
// callback has delivered the next chunk, so libarchive pulls the download at its own pace.
#include <curl/curl.h>

#include <mutex>

#include "image/create/file_source.hpp"
#include "image/create/source.hpp"

namespace kleene::image {
namespace {

void global_init() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

struct EasyDeleter {
  void operator()(CURL* easy) const { curl_easy_cleanup(easy); }
};
struct MultiDeleter {
  void operator()(CURLM* multi) const { curl_multi_cleanup(multi); }
};

class CurlSource final : public ByteSource {
 public:
  CurlSource(std::string url, FetchOptions options)
      : url_(std::move(url)), options_(std::move(options)) {}

  ~CurlSource() override {
    if (multi_ && easy_) curl_multi_remove_handle(multi_.get(), easy_.get());
  }

  Result<void> start() {
    global_init();
    easy_.reset(curl_easy_init());
    multi_.reset(curl_multi_init());
    if (!easy_ || !multi_) return make_error(ENOMEM, "could not initialise libcurl");
    CURL* e = easy_.get();
    curl_easy_setopt(e, CURLOPT_URL, url_.c_str());
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl_easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
    curl_easy_setopt(e, CURLOPT_FAILONERROR, 1L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT,
                     static_cast<long>(options_.connect_timeout.count()));
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.stall_timeout.count()));
    curl_easy_setopt(e, CURLOPT_USERAGENT, "kleened");
    curl_easy_setopt(e, CURLOPT_ERRORBUFFER, error_buffer_);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, &CurlSource::on_data);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, this);
    if (curl_multi_add_handle(multi_.get(), e) != CURLM_OK) {
      return make_error(EIO, "could not start the transfer");
    }
    TRY(fill());
    return {};
  }

  Result<std::string_view> read() override {
    current_.clear();
    TRY(fill());
    current_.swap(pending_);
    consumed_ += current_.size();
    return std::string_view(current_);
  }

  uint64_t consumed() const override { return consumed_; }

  std::optional<uint64_t> size() const override {
    curl_off_t length = -1;
    curl_easy_getinfo(easy_.get(), CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
    if (length < 0) return std::nullopt;
    return static_cast<uint64_t>(length);
  }

 private:
  static size_t on_data(char* data, size_t size, size_t count, void* self) {
    static_cast<CurlSource*>(self)->pending_.append(data, size * count);
    return size * count;
  }

  // Run the transfer until data is pending or it has ended; a failed transfer is an error.
  Result<void> fill() {
    while (pending_.empty() && !done_) {
      int running = 0;
      if (curl_multi_perform(multi_.get(), &running) != CURLM_OK) {
        return make_error(EIO, "transfer failed");
      }
      int left = 0;
      while (CURLMsg* msg = curl_multi_info_read(multi_.get(), &left)) {
        if (msg->msg == CURLMSG_DONE) {
          done_ = true;
          result_ = msg->data.result;
        }
      }
      if (!pending_.empty() || done_) break;
      if (options_.cancelled && options_.cancelled()) {
        return make_error(ECANCELED, "transfer cancelled");
      }
      curl_multi_poll(multi_.get(), nullptr, 0, 250, nullptr);
    }
    if (pending_.empty() && done_ && result_ != CURLE_OK) {
      std::string detail = error_buffer_[0] ? error_buffer_ : curl_easy_strerror(result_);
      const int code =
          result_ == CURLE_HTTP_RETURNED_ERROR || result_ == CURLE_FILE_COULDNT_READ_FILE ? ENOENT
                                                                                          : EIO;
      return make_error(code, detail);
    }
    return {};
  }

  std::string url_;
  FetchOptions options_;
  std::unique_ptr<CURL, EasyDeleter> easy_;
  std::unique_ptr<CURLM, MultiDeleter> multi_;
  char error_buffer_[CURL_ERROR_SIZE] = {};
  std::string pending_;
  std::string current_;
  uint64_t consumed_ = 0;
  bool done_ = false;
  CURLcode result_ = CURLE_OK;
};

}  // namespace

Result<std::unique_ptr<ByteSource>> open_url(const std::string& url, const FetchOptions& options) {
  // libcurl reads a file:// URL whole inside one call; read it ourselves in bounded chunks.
  if (auto path = file_url_path(url)) return open_file(*path);
  auto source = std::make_unique<CurlSource>(url, options);
  TRY(source->start());
  return std::unique_ptr<ByteSource>(std::move(source));
}

}  // namespace kleene::image
