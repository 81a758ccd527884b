// Runs a fuzz target's entry point over files and directories of inputs (its seed corpus and
// the regression inputs of past findings), so every build, with any compiler and under the
// sanitizers, checks them; libFuzzer is only needed to search for new inputs.
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {
int RunFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    std::fprintf(stderr, "cannot read %s\n", path.c_str());
    return 1;
  }
  const std::vector<char> bytes((std::istreambuf_iterator<char>(in)),
                                std::istreambuf_iterator<char>());
  // A copy in a buffer of exactly the input's size, so ASan sees reads past the end.
  std::vector<uint8_t> buf(bytes.begin(), bytes.end());
  LLVMFuzzerTestOneInput(buf.empty() ? nullptr : buf.data(), buf.size());
  return 0;
}
}  // namespace

int main(int argc, char** argv) {
  int inputs = 0, errors = 0;
  for (int i = 1; i < argc; ++i) {
    const std::filesystem::path arg(argv[i]);
    std::error_code ec;
    if (std::filesystem::is_directory(arg, ec)) {
      for (const auto& entry : std::filesystem::recursive_directory_iterator(arg)) {
        if (!entry.is_regular_file()) continue;
        errors += RunFile(entry.path());
        ++inputs;
      }
    } else {
      errors += RunFile(arg);
      ++inputs;
    }
  }
  LLVMFuzzerTestOneInput(nullptr, 0);  // the empty input
  std::printf("%d inputs ran without a finding\n", inputs);
  return errors == 0 && inputs > 0 ? 0 : 1;
}
