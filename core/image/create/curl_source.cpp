// ByteSource over libcurl's multi interface: read() drives the transfer until the write
// callback has delivered the next chunk, so libarchive pulls the download at its own pace.
#include <curl/curl.h>

#include <cerrno>
#include <string>

#include "image/create/file_source.hpp"
#include "image/create/source.hpp"
#include "util/shared_library.hpp"

namespace kleene::image {
namespace {

// libcurl is loaded on the first http(s) fetch, not when kleened starts: with its TLS, HTTP/2,
// IDN, LDAP, SSH and Kerberos libraries it is about 1.5 MiB of resident memory that a daemon
// which only imports local files (file:// never reaches libcurl) does not need. The prototypes
// come from its header, so a symbol of another type does not compile.
constexpr const char* kLibrary = "libcurl.so.4";

struct Library {
  decltype(&curl_global_init) global_init = nullptr;
  decltype(&curl_easy_init) easy_init = nullptr;
  decltype(&curl_easy_cleanup) easy_cleanup = nullptr;
  decltype(&curl_easy_setopt) easy_setopt = nullptr;
  decltype(&curl_easy_getinfo) easy_getinfo = nullptr;
  decltype(&curl_easy_strerror) easy_strerror = nullptr;
  decltype(&curl_multi_init) multi_init = nullptr;
  decltype(&curl_multi_cleanup) multi_cleanup = nullptr;
  decltype(&curl_multi_add_handle) multi_add_handle = nullptr;
  decltype(&curl_multi_remove_handle) multi_remove_handle = nullptr;
  decltype(&curl_multi_perform) multi_perform = nullptr;
  decltype(&curl_multi_info_read) multi_info_read = nullptr;
  decltype(&curl_multi_poll) multi_poll = nullptr;
};

Result<Library> load_library() {
  auto shared = TRY(util::SharedLibrary::open(kLibrary));
  Library library;
  auto bind = [&](auto*& function, const char* name) { shared.bind(function, name); };
  bind(library.global_init, "curl_global_init");
  bind(library.easy_init, "curl_easy_init");
  bind(library.easy_cleanup, "curl_easy_cleanup");
  bind(library.easy_setopt, "curl_easy_setopt");
  bind(library.easy_getinfo, "curl_easy_getinfo");
  bind(library.easy_strerror, "curl_easy_strerror");
  bind(library.multi_init, "curl_multi_init");
  bind(library.multi_cleanup, "curl_multi_cleanup");
  bind(library.multi_add_handle, "curl_multi_add_handle");
  bind(library.multi_remove_handle, "curl_multi_remove_handle");
  bind(library.multi_perform, "curl_multi_perform");
  bind(library.multi_info_read, "curl_multi_info_read");
  bind(library.multi_poll, "curl_multi_poll");
  TRY(shared.check());
  // Once, before any other call (curl_global_init is not thread-safe): the static below that
  // holds this result is initialised by one thread while the others wait.
  if (library.global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
    return make_error(EIO, "could not initialise libcurl");
  return library;
}

const Result<Library>& library() {
  return util::load_once<Library, load_library>();
}

// The library of a handle that exists: start() loaded it.
const Library& lib() {
  return *library();
}

struct EasyDeleter {
  void operator()(CURL* easy) const { lib().easy_cleanup(easy); }
};
struct MultiDeleter {
  void operator()(CURLM* multi) const { lib().multi_cleanup(multi); }
};

class CurlSource final : public ByteSource {
 public:
  CurlSource(std::string url, FetchOptions options)
      : url_(std::move(url)), options_(std::move(options)) {}

  ~CurlSource() override {
    if (multi_ && easy_) lib().multi_remove_handle(multi_.get(), easy_.get());
  }

  Result<void> start() {
    const auto& loaded = library();
    if (!loaded) return std::unexpected(loaded.error());
    const Library& curl = *loaded;
    easy_.reset(curl.easy_init());
    multi_.reset(curl.multi_init());
    if (!easy_ || !multi_) return make_error(ENOMEM, "could not initialise libcurl");
    CURL* e = easy_.get();
    curl.easy_setopt(e, CURLOPT_URL, url_.c_str());
    curl.easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https,file");
    curl.easy_setopt(e, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    curl.easy_setopt(e, CURLOPT_FOLLOWLOCATION, 1L);
    curl.easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
    curl.easy_setopt(e, CURLOPT_FAILONERROR, 1L);
    curl.easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl.easy_setopt(e, CURLOPT_CONNECTTIMEOUT,
                     static_cast<long>(options_.connect_timeout.count()));
    curl.easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl.easy_setopt(e, CURLOPT_LOW_SPEED_TIME, static_cast<long>(options_.stall_timeout.count()));
    curl.easy_setopt(e, CURLOPT_USERAGENT, "kleened");
    curl.easy_setopt(e, CURLOPT_ERRORBUFFER, error_buffer_);
    curl.easy_setopt(e, CURLOPT_WRITEFUNCTION, &CurlSource::on_data);
    curl.easy_setopt(e, CURLOPT_WRITEDATA, this);
    if (curl.multi_add_handle(multi_.get(), e) != CURLM_OK) {
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
    lib().easy_getinfo(easy_.get(), CURLINFO_CONTENT_LENGTH_DOWNLOAD_T, &length);
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
      if (lib().multi_perform(multi_.get(), &running) != CURLM_OK) {
        return make_error(EIO, "transfer failed");
      }
      int left = 0;
      while (CURLMsg* msg = lib().multi_info_read(multi_.get(), &left)) {
        if (msg->msg == CURLMSG_DONE) {
          done_ = true;
          result_ = msg->data.result;
        }
      }
      if (!pending_.empty() || done_) break;
      if (options_.cancelled && options_.cancelled()) {
        return make_error(ECANCELED, "transfer cancelled");
      }
      lib().multi_poll(multi_.get(), nullptr, 0, 250, nullptr);
    }
    if (pending_.empty() && done_ && result_ != CURLE_OK) {
      std::string detail = error_buffer_[0] ? error_buffer_ : lib().easy_strerror(result_);
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
