#include "audit/verify/bundle_verifier.h"

#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include <nlohmann/json.hpp>

#include "audit/verify/event_fields.h"
#include "audit/verify/jcs.h"

namespace cloister::verify {
namespace {

std::string B64(const Hash& h) { return Base64(std::string_view(reinterpret_cast<const char*>(h.data()), h.size())); }

bool ParseHash(std::string_view b64, Hash* out) {
  std::string raw;
  if (!FromBase64(b64, &raw) || raw.size() != 32) return false;
  std::copy(raw.begin(), raw.end(), out->begin());
  return true;
}

// One base64 hash per line; false naming the line otherwise.
bool ParseHashLines(const std::string& text, std::vector<Hash>* out, std::string* error) {
  std::istringstream in(text);
  std::string line;
  size_t n = 0;
  while (std::getline(in, line)) {
    ++n;
    Hash h;
    if (!ParseHash(line, &h)) {
      *error = "line " + std::to_string(n) + " is not a base64 SHA-256 hash";
      return false;
    }
    out->push_back(h);
  }
  if (!text.empty() && text.back() != '\n') {
    *error = "the last line has no newline (truncated?)";
    return false;
  }
  return true;
}

// A redaction line, exactly as the format writes it.
bool ParseRedacted(std::string_view line, uint64_t* seq, Hash* leaf) {
  constexpr std::string_view kHead = "{\"redacted\":true,\"seq\":";
  if (line.substr(0, kHead.size()) != kHead) return false;
  line.remove_prefix(kHead.size());
  const size_t comma = line.find(',');
  if (comma == std::string_view::npos || comma == 0 || comma > 16) return false;
  uint64_t n = 0;
  for (char c : line.substr(0, comma)) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<uint64_t>(c - '0');
  }
  line.remove_prefix(comma);
  constexpr std::string_view kLeaf = ",\"leaf_hash\":\"";
  if (line.substr(0, kLeaf.size()) != kLeaf || line.size() < kLeaf.size() + 2 || line.substr(line.size() - 2) != "\"}") {
    return false;
  }
  *seq = n;
  return ParseHash(line.substr(kLeaf.size(), line.size() - kLeaf.size() - 2), leaf);
}

}  // namespace

bool ReadWholeFile(const std::string& path, std::string* out) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return false;
  std::ostringstream ss;
  ss << in.rdbuf();
  *out = ss.str();
  return true;
}

bool LoadState(const std::string& path, std::optional<AcceptedState>* out, std::string* error) {
  std::string text;
  if (!ReadWholeFile(path, &text)) {
    out->reset();  // no state yet: the first review
    return true;
  }
  try {
    const auto j = nlohmann::json::parse(text);
    AcceptedState s;
    s.origin = j.at("origin").get<std::string>();
    s.size = j.at("size").get<uint64_t>();
    s.checkpoint = j.at("checkpoint").get<std::string>();
    if (!ParseHash(j.at("root").get<std::string>(), &s.root)) throw std::runtime_error("bad root");
    *out = s;
    return true;
  } catch (const std::exception& e) {
    *error = "state file " + path + " is damaged: " + e.what();
    return false;
  }
}

bool SaveState(const std::string& path, const AcceptedState& s, std::string* error) {
  const nlohmann::json j = {{"origin", s.origin}, {"size", s.size}, {"root", B64(s.root)}, {"checkpoint", s.checkpoint}};
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << j.dump(2) << "\n";
    if (!out) {
      *error = "cannot write " + tmp;
      return false;
    }
  }
  if (std::rename(tmp.c_str(), path.c_str()) != 0) {
    *error = "cannot replace " + path;
    return false;
  }
  return true;
}

BundleReport VerifyBundle(const std::string& dir, const VerifierKey& key, const std::optional<AcceptedState>& previous) {
  BundleReport r;
  auto fail = [&](std::string file, std::optional<uint64_t> seq, std::string message) {
    r.failures.push_back({std::move(file), seq, std::move(message)});
    return r;
  };

  // 1. The manifest and the hash of every file it names.
  std::string manifest_text;
  if (!ReadWholeFile(dir + "/manifest.json", &manifest_text)) return fail("manifest.json", std::nullopt, "missing");
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(manifest_text);
    if (manifest.at("format") != "cloister-audit-export/v1") return fail("manifest.json", std::nullopt, "unknown format");
    r.first_seq = manifest.at("first_seq").get<uint64_t>();
    r.last_seq = manifest.at("last_seq").get<uint64_t>();
    r.tree_size = manifest.at("tree_size").get<uint64_t>();
  } catch (const std::exception& e) {
    return fail("manifest.json", std::nullopt, std::string("malformed: ") + e.what());
  }
  if (r.first_seq > r.last_seq || r.last_seq >= r.tree_size) {
    return fail("manifest.json", std::nullopt, "first_seq <= last_seq < tree_size does not hold");
  }
  std::map<std::string, std::string> files;
  for (const char* required : {"events.jsonl", "checkpoint", "range-proof"}) {
    if (!manifest["files"].contains(required)) return fail("manifest.json", std::nullopt, std::string("does not list ") + required);
  }
  for (auto it = manifest["files"].begin(); it != manifest["files"].end(); ++it) {
    const std::string& name = it.key();
    if (name.find('/') != std::string::npos || name == ".." || name == "manifest.json") {
      return fail("manifest.json", std::nullopt, "names an unexpected file \"" + name + "\"");
    }
    std::string content;
    if (!ReadWholeFile(dir + "/" + name, &content)) return fail(name, std::nullopt, "missing");
    if (!it.value().is_string() || Hex(Sha256(content)) != it.value().get<std::string>()) {
      return fail(name, std::nullopt, "SHA-256 does not match the manifest: the file was altered");
    }
    files[name] = std::move(content);
  }
  r.passed.push_back("manifest: " + std::to_string(files.size()) + " file hashes match");

  // 2. The checkpoint, signed by the auditor's key.
  std::string text, error;
  if (!VerifyNote(files["checkpoint"], key, &text, &error)) return fail("checkpoint", std::nullopt, error);
  Checkpoint checkpoint;
  if (!ParseCheckpoint(text, &checkpoint, &error)) return fail("checkpoint", std::nullopt, error);
  if (checkpoint.origin != key.name) return fail("checkpoint", std::nullopt, "origin " + checkpoint.origin + " is not " + key.name);
  if (checkpoint.size != r.tree_size) {
    return fail("checkpoint", std::nullopt, "tree size " + std::to_string(checkpoint.size) + " is not the manifest's " +
                                                std::to_string(r.tree_size));
  }
  char id[9];
  std::snprintf(id, sizeof id, "%08x", key.id);
  r.passed.push_back("checkpoint: signed by " + key.name + "+" + id + ", tree size " + std::to_string(checkpoint.size));

  // 3-4. Each event's seq is its line position; times never decrease.
  std::vector<Hash> leaves;
  std::string_view events = files["events.jsonl"];
  std::string last_time;
  uint64_t expected = r.first_seq;
  while (!events.empty()) {
    const size_t eol = events.find('\n');
    if (eol == std::string_view::npos) return fail("events.jsonl", expected, "the last line has no newline (truncated)");
    const std::string_view line = events.substr(0, eol);
    events.remove_prefix(eol + 1);
    if (expected > r.last_seq) return fail("events.jsonl", expected, "more lines than last_seq allows (inserted event)");
    uint64_t seq = 0;
    Hash leaf;
    if (ParseRedacted(line, &seq, &leaf)) {
      ++r.redacted;
    } else {
      std::string_view time;
      if (!ReadEventSeqAndTime(line, &seq, &time, &error)) return fail("events.jsonl", expected, error);
      if (std::string(time) < last_time) {
        return fail("events.jsonl", seq, "time " + std::string(time) + " is earlier than the previous event's " + last_time);
      }
      last_time = std::string(time);
      leaf = LeafHash(line);
    }
    if (seq != expected) {
      return fail("events.jsonl", expected, "line carries seq " + std::to_string(seq) +
                                                " (events dropped, duplicated or reordered)");
    }
    leaves.push_back(leaf);
    ++expected;
  }
  if (expected != r.last_seq + 1) return fail("events.jsonl", expected, "event is missing (file ends early)");
  r.events = leaves.size();
  r.passed.push_back("events: " + std::to_string(r.events) + " lines in seq order (" + std::to_string(r.redacted) +
                     " redacted), times never decrease");

  // 5. The range proof against the signed root.
  std::vector<Hash> proof;
  if (!ParseHashLines(files["range-proof"], &proof, &error)) return fail("range-proof", std::nullopt, error);
  if (!VerifyRange(r.first_seq, r.last_seq, r.tree_size, leaves, proof, checkpoint.root)) {
    return fail("range-proof", std::nullopt,
                "the events and proof do not hash to the checkpoint root: an event or proof hash was altered, "
                "added or removed");
  }
  r.passed.push_back("range proof: events " + std::to_string(r.first_seq) + ".." + std::to_string(r.last_seq) +
                     " are in the signed tree");

  // 6. Consistency with the checkpoint accepted at the last review.
  if (previous) {
    if (previous->origin != checkpoint.origin) {
      return fail("checkpoint", std::nullopt, "origin differs from the accepted state's " + previous->origin);
    }
    if (previous->size > checkpoint.size) {
      return fail("checkpoint", std::nullopt, "tree size " + std::to_string(checkpoint.size) +
                                                  " is smaller than the accepted " + std::to_string(previous->size) +
                                                  ": the ledger was truncated");
    }
    if (previous->size == checkpoint.size) {
      if (previous->root != checkpoint.root) {
        return fail("checkpoint", std::nullopt, "same tree size as the accepted checkpoint but a different root");
      }
    } else {
      if (!files.count("consistency-proof")) {
        return fail("consistency-proof", std::nullopt, "missing: export with since_size " + std::to_string(previous->size));
      }
      if (!manifest.contains("since_size") || manifest["since_size"] != previous->size) {
        return fail("consistency-proof", std::nullopt, "is not from the accepted size " + std::to_string(previous->size));
      }
      std::vector<Hash> cproof;
      if (!ParseHashLines(files["consistency-proof"], &cproof, &error)) return fail("consistency-proof", std::nullopt, error);
      if (!VerifyConsistency(previous->size, checkpoint.size, previous->root, checkpoint.root, cproof)) {
        return fail("consistency-proof", std::nullopt,
                    "the ledger is not an extension of the accepted checkpoint of size " + std::to_string(previous->size) +
                        ": something before it was changed or dropped");
      }
    }
    r.passed.push_back("consistency: extends the accepted checkpoint of size " + std::to_string(previous->size));
  }
  r.accepted = AcceptedState{checkpoint.origin, checkpoint.size, checkpoint.root, files["checkpoint"]};
  return r;
}

bool VerifyProofFile(const std::string& proof_text, const std::string& event_bytes, const VerifierKey& key,
                     std::string* error) {
  constexpr std::string_view kHeader = "c2sp.org/tlog-proof@v1\n";
  if (proof_text.compare(0, kHeader.size(), kHeader) != 0) {
    *error = "not a c2sp.org/tlog-proof@v1 file";
    return false;
  }
  const size_t blank = proof_text.find("\n\n", kHeader.size());
  if (blank == std::string::npos) {
    *error = "proof file has no blank line before the checkpoint";
    return false;
  }
  std::istringstream lines(proof_text.substr(kHeader.size(), blank + 1 - kHeader.size()));
  std::string line;
  std::getline(lines, line);
  if (line.rfind("index ", 0) != 0) {
    *error = "proof file has no index line";
    return false;
  }
  uint64_t index = 0;
  try {
    index = std::stoull(line.substr(6));
  } catch (const std::exception&) {
    *error = "proof file index is not a number";
    return false;
  }
  std::vector<Hash> path;
  while (std::getline(lines, line)) {
    Hash h;
    if (!ParseHash(line, &h)) {
      *error = "proof hash is not base64 SHA-256";
      return false;
    }
    path.push_back(h);
  }
  std::string text;
  if (!VerifyNote(proof_text.substr(blank + 2), key, &text, error)) return false;
  Checkpoint c;
  if (!ParseCheckpoint(text, &c, error)) return false;
  std::string event = event_bytes;
  if (!event.empty() && event.back() == '\n') event.pop_back();
  uint64_t seq = 0;
  std::string_view time;
  if (!ReadEventSeqAndTime(event, &seq, &time, error)) return false;
  if (seq != index) {
    *error = "the event's seq " + std::to_string(seq) + " is not the proof's index " + std::to_string(index);
    return false;
  }
  if (!VerifyInclusion(index, c.size, LeafHash(event), path, c.root)) {
    *error = "the event is not in the signed tree at index " + std::to_string(index) + " (event or proof altered)";
    return false;
  }
  return true;
}

}  // namespace cloister::verify
