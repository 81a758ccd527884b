#include "detector/app/verify_command.h"

#include <cctype>

#include "detector/outputs/evidence_chain.h"

namespace tw::detector {

namespace {

// Reads the options into *published and *files; false (after saying why on `err`) on a usage
// error.
bool ParseVerifyArgs(const std::vector<std::string>& args, std::FILE* err, std::string* published,
                     std::vector<std::string>* files) {
  const auto bad_head = [err] {
    std::fprintf(err, "throttlewatch: --head needs the 64 hex digits of a chain head\n");
    return false;
  };
  for (size_t i = 0; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--head" || a.rfind("--head=", 0) == 0) {
      if (a == "--head") {
        if (i + 1 >= args.size()) return bad_head();
        *published = args[++i];
      } else {
        *published = a.substr(7);
      }
      for (char& c : *published) c = char(std::tolower(static_cast<unsigned char>(c)));
      if (!IsChainValue(*published)) return bad_head();
    } else if (a.size() > 1 && a[0] == '-') {
      std::fprintf(err, "throttlewatch: unknown option '%s'\n(see 'throttlewatch --help')\n",
                   a.c_str());
      return false;
    } else {
      files->push_back(a);
    }
  }
  if (files->empty()) {
    std::fprintf(err, "throttlewatch: verify needs an event file\n(see 'throttlewatch --help')\n");
    return false;
  }
  return true;
}

// A broken or empty chain, as the analyst reads it.
void PrintBreak(const ChainReport& r, std::FILE* out) {
  if (r.outcome == ChainReport::Outcome::kEmpty) {
    std::fprintf(out,
                 "%s: empty: no header line (the file was emptied, or not written by "
                 "throttlewatch)\n",
                 r.file.c_str());
    return;
  }
  std::fprintf(out, "%s: %s\n", r.file.c_str(), r.error.c_str());
  if (r.verified == 0) {
    std::fprintf(out, "  no line before it verified\n");
  } else {
    std::fprintf(out, "  the %llu line%s before it verified, up to head %s\n",
                 static_cast<unsigned long long>(r.verified), r.verified == 1 ? "" : "s",
                 r.head.c_str());
  }
}

// Where the published head stands in a verified chain; false when it is not in it.
bool PrintPublishedHead(const ChainReport& r, const std::string& published, std::FILE* out) {
  if (r.found_file.empty()) {
    std::fprintf(out,
                 "the published head %s is not in this chain: lines up to it were removed "
                 "or changed since it was published (a cut file, or a rewritten chain), "
                 "or it is another file's\n",
                 published.c_str());
    return false;
  }
  const uint64_t after = r.verified - r.found_at;
  if (after == 0) {
    std::fprintf(out,
                 "the published head is the last line (%s line %llu): nothing was added "
                 "after it\n",
                 r.found_file.c_str(), static_cast<unsigned long long>(r.found_line));
  } else {
    std::fprintf(out,
                 "the published head is %s line %llu: everything up to it is unchanged; "
                 "%llu line%s written after it\n",
                 r.found_file.c_str(), static_cast<unsigned long long>(r.found_line),
                 static_cast<unsigned long long>(after), after == 1 ? " was" : "s were");
  }
  return true;
}

}  // namespace

ExitCode RunVerify(const std::vector<std::string>& args, std::FILE* out, std::FILE* err) {
  std::string published;
  std::vector<std::string> files;
  if (!ParseVerifyArgs(args, err, &published, &files)) return ExitCode::kUsageError;
  const ChainReport r = VerifyChainFiles(files, published);
  switch (r.outcome) {
    case ChainReport::Outcome::kUnreadable:
      std::fprintf(err, "throttlewatch: %s: %s\n", r.file.c_str(), r.error.c_str());
      return ExitCode::kRuntimeError;
    case ChainReport::Outcome::kBroken:
    case ChainReport::Outcome::kEmpty:
      PrintBreak(r, out);
      return ExitCode::kChainBroken;
    case ChainReport::Outcome::kVerified:
      break;
  }
  std::fprintf(out, "ok: %llu line%s, head %s\n", static_cast<unsigned long long>(r.verified),
               r.verified == 1 ? "" : "s", r.head.c_str());
  if (r.start != kChainGenesis) {
    std::fprintf(out,
                 "  the first line continues head %s of an earlier file (give that file "
                 "first to check the link)\n",
                 r.start.c_str());
  }
  if (!published.empty() && !PrintPublishedHead(r, published, out)) return ExitCode::kChainBroken;
  return ExitCode::kOk;
}

}  // namespace tw::detector
