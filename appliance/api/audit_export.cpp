#include "appliance/api/audit_export.h"

#include <cstdio>
#include <set>
#include <sstream>

#include <Poco/DeflatingStream.h>

#include "appliance/core/encoding.h"

namespace cloister {
namespace {

std::string B64(const Hash& h) { return verify::Base64(std::string_view(reinterpret_cast<const char*>(h.data()), h.size())); }

std::string Field(const Json& j, const char* a, const char* b = nullptr) {
  if (!j.contains(a)) return "";
  const Json& v = b ? (j[a].contains(b) ? j[a][b] : Json()) : j[a];
  return v.is_string() ? v.get<std::string>() : v.is_null() ? "" : v.dump();
}

std::string CsvRow(const std::vector<std::string>& cells) {
  std::string row;
  for (size_t i = 0; i < cells.size(); ++i) row += (i ? "," : "") + CsvCell(cells[i]);
  return row + "\r\n";
}

// One ustar header block for a regular file or directory.
std::string TarHeader(const std::string& name, size_t size, char type, int64_t mtime) {
  std::string h(512, '\0');
  auto put = [&](size_t off, size_t len, const std::string& v) { h.replace(off, std::min(len, v.size()), v.substr(0, len)); };
  auto octal = [](uint64_t v, int width) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%0*llo", width, static_cast<unsigned long long>(v));
    return std::string(buf);
  };
  put(0, 100, name);
  put(100, 8, octal(type == '5' ? 0755 : 0644, 7));
  put(108, 8, octal(0, 7));
  put(116, 8, octal(0, 7));
  put(124, 12, octal(size, 11));
  put(136, 12, octal(static_cast<uint64_t>(mtime), 11));
  put(148, 8, "        ");
  h[156] = type;
  put(257, 6, std::string("ustar") + '\0');
  put(263, 2, "00");
  put(265, 32, "cloister");
  put(297, 32, "cloister");
  unsigned sum = 0;
  for (unsigned char c : h) sum += c;
  put(148, 8, octal(sum, 6) + std::string(1, '\0') + " ");
  return h;
}

}  // namespace

std::string CsvCell(const std::string& value) {
  std::string v = value;
  if (!v.empty() && (v[0] == '=' || v[0] == '+' || v[0] == '-' || v[0] == '@' || v[0] == '\t' || v[0] == '\r')) {
    v = "'" + v;
  }
  if (v.find_first_of(",\"\r\n") == std::string::npos) return v;
  std::string quoted = "\"";
  for (char c : v) quoted += c == '"' ? std::string("\"\"") : std::string(1, c);
  return quoted + "\"";
}

Result<std::string> ExportBundle::ToTarGz() const {
  std::ostringstream out;
  try {
    Poco::DeflatingOutputStream gz(out, Poco::DeflatingStreamBuf::STREAM_GZIP, 6);
    // Fixed times keep the archive reproducible for the same contents.
    gz << TarHeader(directory + "/", 0, '5', 0);
    for (const auto& [name, content] : files) {
      gz << TarHeader(directory + "/" + name, content.size(), '0', 0) << content;
      gz << std::string((512 - content.size() % 512) % 512, '\0');
    }
    gz << std::string(1024, '\0');
    gz.close();
  } catch (const std::exception& e) {
    return Status::Internal(std::string("packing the export: ") + e.what());
  }
  return out.str();
}

Result<ExportBundle> BuildExport(Session& session, const StoredCheckpoint& checkpoint, const ExportRequest& request,
                                 const Clock& clock) {
  const uint64_t tree_size = checkpoint.size;
  return session.store->reads().Read<ExportBundle>([&](ReadView db) -> Result<ExportBundle> {
    uint64_t first = request.from_seq;
    uint64_t last = request.to_seq.value_or(tree_size - 1);
    if (!request.since.empty()) {
      CL_ASSIGN_OR_RETURN(first, AuditLedger::FirstSeqAtOrAfter(db, request.since));
    }
    if (!request.until.empty()) {
      CL_ASSIGN_OR_RETURN(const uint64_t after, AuditLedger::FirstSeqAtOrAfter(db, request.until + "\x7f"));
      if (after == 0) return Status::InvalidArgument("no events at or before " + request.until);
      last = std::min(after - 1, tree_size - 1);
    }
    if (last >= tree_size) {
      return Status::InvalidArgument("to_seq " + std::to_string(last) + " is beyond the last seq " +
                                     std::to_string(tree_size - 1));
    }
    if (first > last) return Status::InvalidArgument("the requested range holds no events");
    if (request.since_size && *request.since_size > tree_size) {
      return Status::InvalidArgument("since_size " + std::to_string(*request.since_size) + " is beyond the tree size " +
                                     std::to_string(tree_size));
    }

    EventFilter filter = request.filter;
    filter.from_seq = first;
    filter.to_seq = last;
    CL_ASSIGN_OR_RETURN(auto matching, AuditLedger::Query(db, filter, first, last - first + 1));
    std::set<uint64_t> included;
    for (const auto& e : matching) included.insert(e.seq);

    std::string jsonl, csv = CsvRow({"seq", "time", "actor_kind", "actor_id", "actor_name", "action", "target_kind",
                                     "target_id", "env", "outcome", "reason", "request_id", "request_ip", "details"});
    for (uint64_t seq = first; seq <= last;) {
      CL_ASSIGN_OR_RETURN(auto events, AuditLedger::Events(db, seq, last, 4096));
      if (events.empty()) return Status::Corruption("audit event " + std::to_string(seq) + " is missing");
      for (const auto& e : events) {
        if (included.count(e.seq)) {
          jsonl += e.data + "\n";
          const Json j = Json::parse(e.data);
          csv += CsvRow({std::to_string(e.seq), e.time, Field(j, "actor", "kind"), Field(j, "actor", "id"),
                         Field(j, "actor", "name"), Field(j, "action"), Field(j, "target", "kind"),
                         Field(j, "target", "id"), Field(j, "env"), Field(j, "outcome"), Field(j, "reason"),
                         Field(j, "request", "id"), Field(j, "request", "ip"), j.contains("details") ? j["details"].dump() : ""});
        } else {
          jsonl += "{\"redacted\":true,\"seq\":" + std::to_string(e.seq) + ",\"leaf_hash\":\"" + B64(e.leaf) + "\"}\n";
          csv += CsvRow({std::to_string(e.seq), "", "", "", "", "(redacted)"});
        }
        seq = e.seq + 1;
      }
    }

    Status error;
    auto mth = [&](uint64_t b, uint64_t e) {
      auto h = AuditLedger::SubtreeHash(db, b, e);
      if (!h.ok()) error = h.status();
      return h.ok() ? *h : Hash{};
    };
    std::string range;
    for (const Hash& h : verify::RangeProof(first, last, tree_size, mth)) range += B64(h) + "\n";
    std::string consistency;
    if (request.since_size) {
      for (const Hash& h : verify::ConsistencyProof(*request.since_size, tree_size, mth)) consistency += B64(h) + "\n";
    }
    CL_RETURN_IF_ERROR(error);

    ExportBundle bundle;
    bundle.directory = "cloister-audit-" + std::to_string(first) + "-" + std::to_string(last);
    bundle.files = {{"events.jsonl", jsonl}, {"events.csv", csv}, {"checkpoint", checkpoint.note}, {"range-proof", range}};
    if (request.since_size) bundle.files.emplace_back("consistency-proof", consistency);
    Json hashes = Json::object();
    for (const auto& [name, content] : bundle.files) hashes[name] = Sha256Hex(content);
    Json manifest = {{"format", "cloister-audit-export/v1"},
                     {"origin", session.audit->origin()},
                     {"verifier_key", session.audit->verifier_key()},
                     {"first_seq", first},
                     {"last_seq", last},
                     {"tree_size", tree_size},
                     {"filter", request.filter_json},
                     {"created_at", FormatTimestamp(clock.Now())},
                     {"created_by", request.created_by},
                     {"files", hashes}};
    if (request.since_size) manifest["since_size"] = *request.since_size;
    bundle.files.emplace_back("manifest.json", manifest.dump(2) + "\n");
    return bundle;
  });
}

}  // namespace cloister
