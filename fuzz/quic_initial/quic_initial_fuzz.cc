// QUIC client Initials over arbitrary UDP payloads: the unprotected handshake pieces stay
// inside their buffer, the stream they make stays bounded, and a name read from it lies within
// the stream (capture/quic_initial.h, capture/crypto_stream.h).
#include <cstddef>
#include <cstdint>
#include <string_view>
#include <vector>

#include "capture/crypto_stream.h"
#include "capture/quic_initial.h"
#include "capture/tls_sni.h"
#include "fuzz/fuzz_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::vector<uint8_t> buf(data, data + size);
  tw::capture::QuicInitial q;
  if (!tw::capture::ParseQuicInitial(buf.data(), buf.size(), &q)) return 0;
  TW_FUZZ_CHECK(q.chunks > 0 && q.chunks <= tw::capture::QuicInitial::kMaxChunks);
  TW_FUZZ_CHECK(!q.version.empty());
  tw::capture::CryptoStream stream;
  for (size_t i = 0; i < q.chunks; ++i) {
    const tw::capture::QuicCryptoChunk& c = q.chunk[i];
    TW_FUZZ_CHECK(size_t(c.at) + c.len <= q.bytes.size());
    stream.Add(c.offset, q.bytes.data() + c.at, c.len);
  }
  TW_FUZZ_CHECK(stream.contiguous() <= tw::capture::CryptoStream::kMaxBytes);
  std::string_view name;
  const bool named =
      q.handshake == tw::capture::QuicHandshake::kTls
          ? tw::capture::ParseClientHelloSni(stream.data(), stream.contiguous(), &name)
          : tw::capture::ParseChloSni(stream.data(), stream.contiguous(), &name);
  if (!named) return 0;
  const auto* begin = reinterpret_cast<const char*>(stream.data());
  TW_FUZZ_CHECK(name.data() >= begin && name.data() + name.size() <= begin + stream.contiguous());
  return 0;
}
