// Stored policy documents: every PUT and DELETE of a Policy or PolicyBinding
// adds a version (a delete is a version without source); nothing is edited
// or removed, so any past policy set can be rebuilt from its digests.
#pragma once

#include <string>
#include <vector>

#include "appliance/core/clock.h"
#include "appliance/storage/rows.h"
#include "appliance/storage/writer.h"

namespace cloister::policy {

struct StoredDocument {
  std::string kind;  // Policy or PolicyBinding
  std::string name;
  int64_t version = 0;
  std::string source;  // empty: this version deletes the document
  std::string digest;
  std::string created_at;
  std::string created_by;

  bool deleted() const { return source.empty(); }
};

// Adds the next version of (kind, name) and returns its number. An empty
// `source` records a deletion (not_found if there is nothing to delete).
Result<int64_t> AddDocumentVersion(Transaction& tx, const std::string& kind, const std::string& name,
                                   const std::string& source, const std::string& actor, const Clock& clock);

// The latest version of every document that is not deleted, by kind and name.
Result<std::vector<StoredDocument>> CurrentDocuments(ReadView db);
// Every version of one document, oldest first (empty when there is none).
Result<std::vector<StoredDocument>> DocumentVersions(ReadView db, const std::string& kind, const std::string& name);

}  // namespace cloister::policy
