// klee: the command-line client of kleened.
#include <exception>
#include <iostream>
#include <string>
#include <vector>

#include "app.hpp"

int main(int argc, char** argv) {
  std::ios::sync_with_stdio(true);
  try {
    const std::vector<std::string> args(argv + 1, argv + argc);
    return klee::run_klee(args, klee::process_environment(), std::cout, std::cerr);
  } catch (const std::exception& e) {
    std::cerr << "ERROR! Some unexpected error occured: " << e.what() << std::endl;
    return 1;
  }
}
