#include <gtest/gtest.h>
#include <signal.h>

#include "host_state.hpp"

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  // Raw HTTP checks write to sockets the daemon may close first; that is an answer, not a crash.
  ::signal(SIGPIPE, SIG_IGN);
  // Appended after the default printer so that it ends first and can still fail the test.
  testing::UnitTest::GetInstance()->listeners().Append(new kleene::it::HostLeakListener);
  return RUN_ALL_TESTS();
}
