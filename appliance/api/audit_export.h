// Audit export bundles (audit-format.md, section 5): events.jsonl with the
// exact bytes of each event (or a redaction line for events the filter
// leaves out), events.csv for spreadsheets, the signed checkpoint, the range
// proof, an optional consistency proof from an earlier tree size, and a
// manifest with the SHA-256 of every file. Packed as a .tar.gz of one
// directory.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "appliance/api/appliance.h"
#include "appliance/core/json.h"

namespace cloister {

struct ExportRequest {
  uint64_t from_seq = 0;
  std::optional<uint64_t> to_seq;  // default: the checkpoint's last seq
  std::string since;               // RFC 3339; instead of from/to
  std::string until;
  EventFilter filter;  // events not matching are redacted, not dropped
  Json filter_json = Json::object();
  std::optional<uint64_t> since_size;  // add a consistency proof from this size
  std::string created_by;
};

struct ExportBundle {
  std::string directory;                                   // the bundle's directory name
  std::vector<std::pair<std::string, std::string>> files;  // name -> content

  // A gzip-compressed ustar archive of `directory` with every file in it.
  Result<std::string> ToTarGz() const;
};

Result<ExportBundle> BuildExport(Session& session, const StoredCheckpoint& checkpoint, const ExportRequest& request,
                                 const Clock& clock);

// A CSV cell: quoted when needed, and prefixed with ' when it begins with a
// character a spreadsheet would read as a formula (=, +, -, @, tab, CR).
std::string CsvCell(const std::string& value);

}  // namespace cloister
