#ifndef THROTTLEWATCH_UTIL_SECRET_FILE_H_
#define THROTTLEWATCH_UTIL_SECRET_FILE_H_

#include <cstddef>
#include <string>

namespace tw::util {

// Reads a secret that throttlewatch is handed (the --anonymize key, the --metrics-auth-file
// password): `path` must be a regular file that only its owner can read or write, i.e. without
// any group or other permission bits (mode 0600 or 0400), of at most `max_bytes` bytes. Every
// secret goes through this one check, so they are all refused alike.
//
// The file is opened once and checked on that descriptor (no race with a rename); its content
// is read only when the checks pass. On success *contents holds every byte of the file (the
// caller wipes it when done). On failure returns false and sets *error to
// "<what> <path>: <why>", e.g. "key file /etc/k: readable or writable by group or others
// (mode 0640); only its owner may have access: chmod 600 /etc/k". `what` names the file for the
// user ("key file", "metrics auth file").
[[nodiscard]] bool ReadSecretFile(const std::string& path, const std::string& what,
                                  size_t max_bytes, std::string* contents, std::string* error);

}  // namespace tw::util

#endif  // THROTTLEWATCH_UTIL_SECRET_FILE_H_
