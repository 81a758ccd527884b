#ifndef THROTTLEWATCH_CAPTURE_ADDRESS_FORMATTER_H_
#define THROTTLEWATCH_CAPTURE_ADDRESS_FORMATTER_H_

#include <memory>
#include <string>

#include "capture/address.h"
#include "capture/anonymizer.h"

namespace tw::capture {

// How addresses leave the program: every writer of events, summaries, reports, series and
// metrics routes each address it writes through one of these, so `--anonymize` covers all of
// them. Default-constructed it writes addresses as they are; with an Anonymizer it writes their
// Crypto-PAn images. A cheap value (shares the immutable Anonymizer); copies may be used from
// several threads.
class AddressFormatter {
 public:
  AddressFormatter() = default;
  explicit AddressFormatter(std::shared_ptr<const Anonymizer> anonymizer)
      : anonymizer_(std::move(anonymizer)) {}

  bool anonymized() const { return anonymizer_ != nullptr; }
  // The address as it is to be written (anonymized when configured).
  Address Map(const Address& a) const { return anonymizer_ ? anonymizer_->Anonymize(a) : a; }
  // Text form of Map(a): dotted quad or RFC 5952.
  std::string Format(const Address& a) const { return Map(a).ToString(); }
  std::string Format(const Cidr& c) const {
    return (anonymizer_ ? anonymizer_->Anonymize(c) : c).ToString();
  }

 private:
  std::shared_ptr<const Anonymizer> anonymizer_;
};

}  // namespace tw::capture

#endif  // THROTTLEWATCH_CAPTURE_ADDRESS_FORMATTER_H_
