// libFuzzer target for the verifier's parsers of untrusted bytes: canonical
// JSON, event fields, checkpoints, signed notes, verifier keys and tlog-proof
// files. Built when the compiler is clang:
//   CXX=clang++ cmake -S . -B build-fuzz -DCLOISTER_FUZZ=ON && cmake --build build-fuzz --target verifier_fuzz
//   build-fuzz/tests/fuzz/verifier_fuzz -max_total_time=60
#include <cstddef>
#include <cstdint>
#include <string>

#include "audit/verify/bundle_verifier.h"
#include "audit/verify/event_fields.h"
#include "audit/verify/jcs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace cloister::verify;
  const std::string input(reinterpret_cast<const char*>(data), size);
  std::string out, error, text;
  CanonicalizeText(input, &out, &error);
  uint64_t seq;
  std::string_view time;
  ReadEventSeqAndTime(input, &seq, &time, &error);
  Checkpoint checkpoint;
  ParseCheckpoint(input, &checkpoint, &error);
  VerifierKey key;
  ParseVerifierKey(input, &key, &error);
  static VerifierKey fixed = [] {
    VerifierKey k;
    std::string e;
    ParseVerifierKey("appliance.example/audit+ef9019a3+AV+FNdmqtO5SgWdrDyaGWTSqVAmjWizHqXhbsiMJx43E", &k, &e);
    return k;
  }();
  VerifyNote(input, fixed, &text, &error);
  VerifyProofFile(input, "{\"seq\":0,\"time\":\"\"}", fixed, &error);
  return 0;
}
