#include "detector/core/event.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <array>
#include <memory>
#include <string>

#include "capture/ip_proto.h"
#include "capture/tunnel.h"
#include "detector/outputs/event_json.h"
#include "detector/outputs/json.h"
#include "test/support/schema_lines.h"

namespace tw::detector {
namespace {

using ::testing::HasSubstr;

TEST(EventTest, ThrottleStartHasEverySchemaField) {
  Event e;
  e.id = 7;
  e.kind = EventKind::kThrottle;
  e.state = EventState::kStart;
  e.ts = 1700000000.5;
  e.detected_at = 1700000003;
  e.scope = EventScope::kFlow;
  e.direction = capture::kDown;
  e.has_flow = true;
  e.flow.key.proto = capture::kIpProtoTcp;
  e.flow.key.a = *capture::Address::Parse("10.0.0.2");
  e.flow.key.port_a = 40000;
  e.flow.key.b = *capture::Address::Parse("2001:db8::1");
  e.flow.key.port_b = 443;
  e.flow.local_is_a = true;
  e.rate_before_bps = 1e6;
  e.rate_after_bps = 250000;
  e.targeted = true;
  e.confidence = 0.9;
  testing::KeepLines(EventToJson(e));
  EXPECT_EQ(EventToJson(e),
            "{\"schema\":2,\"record\":\"event\",\"id\":7,\"kind\":\"throttle\",\"state\":\"start\","
            "\"ts\":1700000000.5,\"time\":\"2023-11-14T22:13:20.500Z\","
            "\"detected_at\":1700000003.0,\"scope\":\"flow\",\"direction\":\"down\","
            "\"flow\":{\"proto\":\"tcp\",\"local\":\"10.0.0.2\",\"local_port\":40000,"
            "\"remote\":\"2001:db8::1\",\"remote_port\":443},\"rate_before_bps\":1000000,"
            "\"rate_after_bps\":250000,\"targeted\":true,\"confidence\":0.9}");
}

// A tunnelled flow says through which tunnels it came, inside its flow object; a reader of the
// line gets them back.
TEST(EventTest, TunnelledFlowNamesItsTunnels) {
  Event e;
  e.id = 8;
  e.scope = EventScope::kFlow;
  e.has_flow = true;
  e.flow.key.proto = capture::kIpProtoUdp;
  e.flow.key.a = *capture::Address::Parse("10.0.0.2");
  e.flow.key.port_a = 40000;
  e.flow.key.b = *capture::Address::Parse("192.0.2.1");
  e.flow.key.port_b = 443;
  e.flow.local_is_a = true;
  ASSERT_TRUE(e.flow.tunnels.Push(capture::Tunnel::kPppoe));
  ASSERT_TRUE(e.flow.tunnels.Push(capture::Tunnel::kGre));
  const std::string line = EventToJson(e);
  EXPECT_THAT(line, HasSubstr("\"remote_port\":443,\"tunnel\":\"pppoe/gre\"}"));
  Event back;
  ASSERT_TRUE(ParseEventLine(line, &back));
  EXPECT_EQ(back.flow.tunnels, e.flow.tunnels);
  e.flow.tunnels = {};
  EXPECT_THAT(EventToJson(e), ::testing::Not(HasSubstr("tunnel")));
}

TEST(EventTest, OutageEndCarriesDurationAndReason) {
  Event e;
  e.kind = EventKind::kOutage;
  e.state = EventState::kEnd;
  e.scope = EventScope::kLink;
  e.duration_s = 10.25;
  e.reason = "traffic_resumed";
  const std::string j = EventToJson(e);
  EXPECT_THAT(j, HasSubstr("\"kind\":\"outage\",\"state\":\"end\""));
  EXPECT_THAT(j, HasSubstr("\"scope\":\"link\""));
  EXPECT_THAT(j, HasSubstr("\"duration_s\":10.25"));
  EXPECT_THAT(j, HasSubstr("\"reason\":\"traffic_resumed\""));
  EXPECT_THAT(j, ::testing::Not(HasSubstr("\"flow\"")));
}

// A block names its service, address and port, its method with OONI's category and the
// evidence; it has no direction, flow or rates; a reader gets its kind, service and method back.
TEST(EventTest, BlockCarriesItsMethodAndEvidence) {
  Event e;
  e.id = 9;
  e.kind = EventKind::kBlock;
  e.scope = EventScope::kRemoteHost;
  e.ts = 1700000000;
  e.detected_at = 1700000004;
  e.server_name = "news.example";
  e.has_remote = true;
  e.remote = *capture::Address::Parse("192.0.2.3");
  e.flows = 3;
  e.targeted = true;
  e.confidence = 0.95;
  e.block.method = BlockMethod::kTcpRst;
  e.block.remote_port = 443;
  e.block.attempts = e.block.failures = 3;
  e.block.witnesses = 2;
  e.block.same_address_ok = true;
  e.block.resets_ttl_mismatch = 3;
  e.block.reset_ttl_delta = 12;
  e.block.reset_after_s = 0.0012;
  e.block.handshake_rtt_s = 0.05;
  const std::string start = EventToJson(e);
  testing::KeepLines(start);
  EXPECT_EQ(start,
            "{\"schema\":2,\"record\":\"event\",\"id\":9,\"kind\":\"block\",\"state\":\"start\","
            "\"ts\":1700000000.0,\"time\":\"2023-11-14T22:13:20.000Z\","
            "\"detected_at\":1700000004.0,\"scope\":\"service\",\"service\":\"news.example\","
            "\"remote\":\"192.0.2.3\",\"remote_port\":443,\"transport\":\"tcp\","
            "\"method\":\"tcp_rst\",\"ooni_blocking\":\"http-failure\",\"attempts\":3,"
            "\"failures\":3,\"evidence\":{\"other_services_ok\":2,\"same_address_ok\":true,"
            "\"worked_before\":false,\"resets_ttl_mismatch\":3,\"resets_too_fast\":0,"
            "\"reset_ttl_delta\":12,\"reset_after_s\":0.0012,\"handshake_rtt_s\":0.05},"
            "\"targeted\":true,\"confidence\":0.95}");
  Event back;
  ASSERT_TRUE(ParseEventLine(start, &back));
  EXPECT_EQ(back.kind, EventKind::kBlock);
  EXPECT_EQ(back.server_name, "news.example");
  EXPECT_EQ(back.remote, e.remote);
  EXPECT_EQ(back.block.method, BlockMethod::kTcpRst);
  // Read back whole: a restart's end is written from it.
  EXPECT_EQ(EventToJson(back), start);
  e.state = EventState::kEnd;
  e.duration_s = 20;
  e.reason = "lifted";
  const std::string end = EventToJson(e);
  testing::KeepLines(end);
  EXPECT_THAT(end, HasSubstr("\"duration_s\":20.0,\"reason\":\"lifted\""));
}

// Names are validated where they are learned (capture/host_name.h), but the writer must not
// depend on that: whatever string an event holds, the line stays one JSON object with the same
// fields, no raw control byte and nothing outside ASCII.
TEST(EventTest, HostileStringsCannotAddFieldsOrBreakTheLine) {
  const std::string hostile[] = {
      "x\",\"targeted\":false,\"y\":\"",
      "live\"}\x01<script>.ex\x7f"
      "ample",
      "back\\slash\\\"",
      std::string("nul\0byte\n\r\t\x1b[31m", 17),
      "caf\xc3\xa9 \xe2\x80\xae",     // UTF-8, and a right-to-left override
      "\xff\xfe\xc3 not UTF-8 \x80",  // bytes that are no UTF-8 at all
      std::string(255, 'a'),
  };
  for (const std::string& name : hostile) {
    Event e;
    e.id = 3;
    e.ts = 1700000000;
    e.targeted = true;
    e.server_name = name;
    e.reason = name;
    const std::string line = EventToJson(e);
    for (unsigned char c : line) {
      ASSERT_TRUE(c >= 0x20 && c < 0x7f) << "byte " << int(c) << " in " << line;
    }
    const Json j = Json::parse(line, nullptr, /*allow_exceptions=*/false);
    ASSERT_TRUE(j.is_object()) << line;
    EXPECT_EQ(j.size(), 16u) << line;  // the fields of a link event with a service and reason
    EXPECT_EQ(j.at("targeted"), true) << line;
    EXPECT_FALSE(j.contains("y")) << line;
    if (name.find('\xff') == std::string::npos) {
      EXPECT_EQ(j.at("service").get<std::string>(), name);  // UTF-8 and ASCII come back whole
    }
    Event back;
    ASSERT_TRUE(ParseEventLine(line, &back)) << line;
    EXPECT_TRUE(back.targeted);
    EXPECT_EQ(back.id, 3u);
  }
}

TEST(EventTest, EveryAddressGoesThroughTheFormatter) {
  constexpr std::array<uint8_t, 32> kSampleKey = {
      21,  34,  23,  141, 51,  164, 207, 128, 19, 10, 91, 22, 73, 144, 125, 16,
      216, 152, 143, 131, 121, 121, 101, 39,  98, 87, 76, 45, 42, 132, 34,  2};
  const capture::AddressFormatter anon(std::make_shared<capture::Anonymizer>(kSampleKey));
  Event e;
  e.scope = EventScope::kRemoteHost;
  e.has_flow = true;
  e.flow.key.proto = capture::kIpProtoTcp;
  e.flow.key.a = *capture::Address::Parse("128.11.68.132");
  e.flow.local_is_a = true;
  e.flow.key.b = *capture::Address::Parse("129.118.74.4");
  e.has_remote = true;
  e.remote = e.flow.key.b;
  const std::string json = EventToJson(e, anon);
  EXPECT_THAT(json, HasSubstr("\"local\":\"135.242.180.132\""));
  EXPECT_THAT(json, HasSubstr("\"remote\":\"134.136.186.123\""));
  EXPECT_EQ(json.find("128.11."), std::string::npos) << json;
  EXPECT_EQ(json.find("129.118."), std::string::npos) << json;
  EXPECT_THAT(EventToJson(e), HasSubstr("\"local\":\"128.11.68.132\""));
}

}  // namespace
}  // namespace tw::detector

namespace tw::detector {
namespace {
TEST(EventTest, MechanismOnlyWhenSet) {
  Event e;
  EXPECT_EQ(EventToJson(e).find("mechanism"), std::string::npos);
  e.mechanism = Mechanism::kPolicing;
  EXPECT_NE(EventToJson(e).find(",\"mechanism\":\"policing\"}"), std::string::npos);
}

TEST(EventTest, ALiveEventNamesItsSensorAndInterface) {
  Event e;
  EXPECT_EQ(EventToJson(e).find("sensor"), std::string::npos);  // replay: no origin
  const EventOrigin origin{"uplink-1", "eth0"};
  EXPECT_THAT(EventToJson(e, {}, &origin),
              HasSubstr("\"sensor\":\"uplink-1\",\"interface\":\"eth0\""));
}
}  // namespace
}  // namespace tw::detector
