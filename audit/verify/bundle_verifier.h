// Verification of an export bundle directory (audit-format.md, section 5),
// in the order the format gives: the manifest's file hashes; the checkpoint
// signature against the auditor's key (never only the manifest's); each
// event's seq against its line; times never decreasing; the range proof
// against the checkpoint root; and, with a state file from an earlier review,
// the consistency of the new checkpoint with the one accepted then.
//
// Part of the standalone verifier library.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "audit/verify/signed_note.h"

namespace cloister::verify {

struct Finding {
  std::string file;               // which file of the bundle
  std::optional<uint64_t> seq;    // which event, when one is concerned
  std::string message;
};

// The last checkpoint an auditor accepted, kept between reviews.
struct AcceptedState {
  std::string origin;
  uint64_t size = 0;
  Hash root{};
  std::string checkpoint;  // the signed note
};
bool LoadState(const std::string& path, std::optional<AcceptedState>* out, std::string* error);
bool SaveState(const std::string& path, const AcceptedState& state, std::string* error);

struct BundleReport {
  bool ok() const { return failures.empty(); }
  std::vector<std::string> passed;  // checks that passed, in order
  std::vector<Finding> failures;
  uint64_t first_seq = 0, last_seq = 0, tree_size = 0, events = 0, redacted = 0;
  std::optional<AcceptedState> accepted;  // the bundle's checkpoint, when everything verified
};

// Verifies the bundle in `dir` against `key`. `previous` is the state from
// the last review (or none).
BundleReport VerifyBundle(const std::string& dir, const VerifierKey& key, const std::optional<AcceptedState>& previous);

// Reads a whole file; false when it cannot be read.
bool ReadWholeFile(const std::string& path, std::string* out);

// Verifies a C2SP tlog-proof file for one event's exact bytes.
bool VerifyProofFile(const std::string& proof_text, const std::string& event_bytes, const VerifierKey& key,
                     std::string* error);

}  // namespace cloister::verify
