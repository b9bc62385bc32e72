// The policy set in force: the configured directory's documents, with the
// database's documents of the same kind and name in their place, built whole.
//
// Every change goes through Candidate() first, which builds the set the
// change would produce; only a set that builds is ever installed, so a
// document that does not load leaves the set in force untouched.
//
// Thread-safe. current() is a shared_ptr copy under a mutex; the set it
// returns is immutable and stays valid for as long as the caller holds it.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "appliance/core/mutex.h"
#include "governance/policy/policy_set.h"
#include "governance/policy/policy_store.h"

namespace cloister::policy {

// The policy packs compiled into cloisterd (the baseline pack, which the
// built-in default pipeline names), as "built-in:<file>" documents. A
// document of the same kind and name in the policy directory replaces one.
std::vector<SourceDocument> BuiltinPolicyDocuments();

class PolicyEngine {
 public:
  // Loads `directory` (empty: none). invalid_argument naming the file, line
  // and column if any document there does not load.
  static Result<std::unique_ptr<PolicyEngine>> Open(std::string directory);

  std::shared_ptr<const PolicySet> current() const;
  const std::string& directory() const { return directory_; }
  // Why the database's documents were last refused, or "".
  std::string load_error() const;
  // The stored version of a document in force from the database (0: it
  // comes from the directory).
  int64_t VersionOf(const std::string& kind, const std::string& name) const;

  // Installs the directory plus `stored` (after an unseal). On failure the
  // directory's set alone stays in force and load_error() says why.
  Status LoadStored(std::vector<StoredDocument> stored);
  // The set that `extra` documents would put in force, each replacing the
  // document of its kind and name, without installing it.
  Result<std::shared_ptr<const PolicySet>> Candidate(const std::vector<SourceDocument>& extra) const;
  // The set in force once the stored (kind, name) is deleted: the
  // directory's document of that name, if any, comes back.
  Result<std::shared_ptr<const PolicySet>> WithoutStored(const std::string& kind, const std::string& name) const;
  // Installs a set from Candidate() and records the stored version behind it.
  void Install(std::shared_ptr<const PolicySet> set, const StoredDocument& changed);
  // Re-reads the directory and installs the result; on error nothing changes.
  Status ReloadDirectory();

  // Loads the stored documents once per open store: `store` identifies it
  // (the unsealed session), and once it is gone the next caller reads them
  // again with `read`.
  void EnsureLoaded(const std::shared_ptr<const void>& store,
                    const std::function<Result<std::vector<StoredDocument>>()>& read);
  // Held across Candidate(), the write, and Install(), so that changes apply
  // one at a time, each to the set the previous one installed.
  std::unique_lock<std::mutex> LockChanges() { return std::unique_lock(change_mu_); }

 private:
  explicit PolicyEngine(std::string directory) : directory_(std::move(directory)) {}
  struct Keyed {
    std::string kind, name;
    SourceDocument doc;
  };
  using DocKey = std::pair<std::string, std::string>;  // kind, name
  static Result<std::vector<Keyed>> Key(const std::vector<SourceDocument>& docs);
  Result<std::shared_ptr<const PolicySet>> BuildLocked(const std::vector<Keyed>& directory,
                                                        const std::vector<SourceDocument>& extra,
                                                        const DocKey* without = nullptr) const CL_REQUIRES(mu_);

  const std::string directory_;
  // Lock order: change_mu_ and load_mu_ are each taken before mu_, never
  // after it. change_mu_ guards no member (it orders whole changes, held by
  // callers through LockChanges), so it stays a std::mutex.
  std::mutex change_mu_;
  Mutex load_mu_;  // serializes EnsureLoaded
  std::weak_ptr<const void> loaded_for_ CL_GUARDED_BY(load_mu_);
  mutable Mutex mu_ CL_ACQUIRED_AFTER(load_mu_);
  std::vector<Keyed> directory_docs_ CL_GUARDED_BY(mu_);
  std::map<DocKey, StoredDocument> stored_ CL_GUARDED_BY(mu_);
  std::shared_ptr<const PolicySet> set_ CL_GUARDED_BY(mu_);
  std::string load_error_ CL_GUARDED_BY(mu_);
};

}  // namespace cloister::policy
