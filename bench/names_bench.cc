// Benchmarks of the parsers that name services: a TLS ClientHello's server name and a DNS
// response's answers, and ServerNames' test on a packet that carries neither (what every
// other packet costs).
#include <benchmark/benchmark.h>

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "capture/dns.h"
#include "capture/ip_proto.h"
#include "capture/server_names.h"
#include "capture/tls_sni.h"
#include "test/support/tls_client_hello.h"

namespace tw::capture {
namespace {

// A ClientHello as a browser sends it: 16 cipher suites, a session id, GREASE and ten other
// extensions before the server name, key shares and padding after it (~600 bytes).
std::vector<uint8_t> BrowserClientHello(const std::string& host) {
  using testing::TlsExtension;
  std::vector<uint8_t> exts;
  TlsExtension(&exts, 0x0a0a, {});                              // GREASE
  TlsExtension(&exts, 0x0017, {});                              // extended master secret
  TlsExtension(&exts, 0xff01, {0});                             // renegotiation info
  TlsExtension(&exts, 0x000a, std::vector<uint8_t>(10, 0x1d));  // supported groups
  TlsExtension(&exts, 0x000b, {1, 0});                          // ec point formats
  TlsExtension(&exts, 0x0023, {});                              // session ticket
  TlsExtension(&exts, 0x0010, {0, 12, 2, 'h', '2', 8, 'h', 't', 't', 'p', '/', '1', '.', '1'});
  TlsExtension(&exts, 0x0005, {1, 0, 0, 0, 0});                 // status request
  TlsExtension(&exts, 0x000d, std::vector<uint8_t>(18, 0x04));  // signature algorithms
  TlsExtension(&exts, 0x0012, {});                              // signed cert timestamps
  TlsExtension(&exts, 0x0000, testing::SniExtensionBody(host));
  TlsExtension(&exts, 0x0033, std::vector<uint8_t>(38, 0x20));  // key share
  TlsExtension(&exts, 0x002b, {6, 0x3a, 0x3a, 3, 4, 3, 3});     // supported versions
  TlsExtension(&exts, 0x0015, std::vector<uint8_t>(200, 0));    // padding
  std::vector<uint8_t> suites;
  for (int i = 0; i < 16; ++i) suites.insert(suites.end(), {0x13, uint8_t(i)});
  return testing::ClientHelloRecord(suites, 32, exts);
}

// A response for www.example.com: a CNAME to edge.cdn.example.net, then three A records, with
// compressed names as resolvers send them.
std::vector<uint8_t> DnsResponse() {
  std::vector<uint8_t> m = {0x12, 0x34, 0x81, 0x80, 0, 1, 0, 4, 0, 0, 0, 0};
  for (const char* label : {"www", "example", "com"}) {
    m.push_back(uint8_t(std::string_view(label).size()));
    m.insert(m.end(), label, label + std::string_view(label).size());
  }
  m.insert(m.end(), {0, 0, 1, 0, 1});
  // www.example.com CNAME edge.cdn.example.net
  const size_t target = m.size() + 12;
  m.insert(m.end(), {0xc0, 12, 0, 5, 0, 1, 0, 0, 1, 0x2c, 0, 22});
  for (const char* label : {"edge", "cdn", "example", "net"}) {
    m.push_back(uint8_t(std::string_view(label).size()));
    m.insert(m.end(), label, label + std::string_view(label).size());
  }
  m.push_back(0);
  for (int last : {10, 11, 12}) {  // edge.cdn.example.net A 192.0.2.x
    m.insert(m.end(), {uint8_t(0xc0 | (target >> 8)), uint8_t(target), 0, 1, 0, 1, 0, 0, 0, 60, 0,
                       4, 192, 0, 2, uint8_t(last)});
  }
  return m;
}

void BM_ParseTlsSni(benchmark::State& state) {
  const std::vector<uint8_t> hello = BrowserClientHello("video.newsroom.example.org");
  std::string_view name;
  for (auto _ : state) {
    benchmark::DoNotOptimize(ParseTlsSni(hello.data(), hello.size(), &name));
    benchmark::DoNotOptimize(name.data());
  }
  if (name != "video.newsroom.example.org") state.SkipWithError("the server name was not found");
  state.counters["bytes"] = double(hello.size());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseTlsSni);

void BM_ParseDnsResponse(benchmark::State& state) {
  const std::vector<uint8_t> msg = DnsResponse();
  int answers = 0;
  for (auto _ : state) {
    answers = 0;
    ParseDnsResponse(msg.data(), msg.size(), [&](const DnsAnswer& a) {
      benchmark::DoNotOptimize(a.name.data());
      ++answers;
    });
  }
  if (answers != 3) state.SkipWithError("the three A answers were not all found");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ParseDnsResponse);

// A full-size TCP data packet: ServerNames looks at its first payload byte and moves on.
void BM_ServiceNamesOtherPacket(benchmark::State& state) {
  std::vector<uint8_t> data(1514, 0x17);  // a TLS application-data record
  DecodedPacket p;
  p.ip_proto = capture::kIpProtoTcp;
  p.src_port = 443;
  p.payload_offset = 66;
  p.payload_len = 1448;
  FlowInfo info;
  info.id = 1;
  const BinnedPacket bp{&info, kDown, 0};
  ServerNames names;
  for (auto _ : state) {
    names.Observe(data.data(), uint32_t(data.size()), p, bp);
    benchmark::ClobberMemory();
  }
  if (names.learned() != 0) state.SkipWithError("learned a name from application data");
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ServiceNamesOtherPacket);

}  // namespace
}  // namespace tw::capture
