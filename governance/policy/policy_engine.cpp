#include "governance/policy/policy_engine.h"

#include <algorithm>

#include "governance/policy/policy_tests.h"

namespace cloister::policy {
namespace {

SourceDocument FromStore(const StoredDocument& d) {
  return {"database:" + d.kind + "/" + d.name + "@v" + std::to_string(d.version), d.source};
}

}  // namespace

Result<std::vector<PolicyEngine::Keyed>> PolicyEngine::Key(const std::vector<SourceDocument>& docs) {
  std::vector<Keyed> out;
  for (const auto& d : docs) {
    CL_ASSIGN_OR_RETURN(DocumentHeader h, ReadHeader(d));
    out.push_back({h.kind, h.name, d});
  }
  return out;
}

Result<std::unique_ptr<PolicyEngine>> PolicyEngine::Open(std::string directory) {
  std::unique_ptr<PolicyEngine> engine(new PolicyEngine(std::move(directory)));
  CL_RETURN_IF_ERROR(engine->ReloadDirectory());
  return engine;
}

std::shared_ptr<const PolicySet> PolicyEngine::current() const {
  MutexLock lock(mu_);
  return set_;
}

std::string PolicyEngine::load_error() const {
  MutexLock lock(mu_);
  return load_error_;
}

int64_t PolicyEngine::VersionOf(const std::string& kind, const std::string& name) const {
  MutexLock lock(mu_);
  const auto it = stored_.find({kind, name});
  return it == stored_.end() ? 0 : it->second.version;
}

// The directory's documents, each replaced by a stored one of the same kind
// and name, then each replaced by an `extra` one likewise. A deletion (see
// Remove) is expressed by leaving the stored document out.
Result<std::shared_ptr<const PolicySet>> PolicyEngine::BuildLocked(const std::vector<Keyed>& directory,
                                                                   const std::vector<SourceDocument>& extra,
                                                                   const DocKey* without) const {
  std::map<DocKey, SourceDocument> docs;
  for (const auto& k : directory) docs[{k.kind, k.name}] = k.doc;
  for (const auto& [key, stored] : stored_) {
    if (without == nullptr || key != *without) docs[key] = FromStore(stored);
  }
  for (const auto& e : extra) {
    CL_ASSIGN_OR_RETURN(std::vector<Keyed> keyed, Key({e}));
    docs[{keyed[0].kind, keyed[0].name}] = e;
  }
  std::vector<SourceDocument> all;
  for (auto& [key, doc] : docs) all.push_back(doc);
  return PolicySet::Build(all);
}

Status PolicyEngine::LoadStored(std::vector<StoredDocument> stored) {
  MutexLock lock(mu_);
  auto previous = std::move(stored_);
  stored_.clear();
  for (auto& d : stored) stored_[{d.kind, d.name}] = std::move(d);
  auto set = BuildLocked(directory_docs_, {});
  if (!set.ok()) {
    load_error_ = set.status().message();
    stored_ = std::move(previous);
    return set.status();
  }
  load_error_.clear();
  set_ = *set;
  return Status::Ok();
}

Result<std::shared_ptr<const PolicySet>> PolicyEngine::Candidate(const std::vector<SourceDocument>& extra) const {
  MutexLock lock(mu_);
  return BuildLocked(directory_docs_, extra);
}

Result<std::shared_ptr<const PolicySet>> PolicyEngine::WithoutStored(const std::string& kind,
                                                                     const std::string& name) const {
  MutexLock lock(mu_);
  const DocKey key{kind, name};
  return BuildLocked(directory_docs_, {}, &key);
}

void PolicyEngine::Install(std::shared_ptr<const PolicySet> set, const StoredDocument& changed) {
  MutexLock lock(mu_);
  if (changed.deleted()) {
    stored_.erase({changed.kind, changed.name});
  } else {
    stored_[{changed.kind, changed.name}] = changed;
  }
  set_ = std::move(set);
}

Status PolicyEngine::ReloadDirectory() {
  std::vector<SourceDocument> docs;
  if (!directory_.empty()) {
    CL_ASSIGN_OR_RETURN(docs, ReadPolicyDirectory(directory_));
  }
  CL_ASSIGN_OR_RETURN(std::vector<Keyed> keyed, Key(docs));
  // The built-in packs fill in for what the directory does not define.
  CL_ASSIGN_OR_RETURN(std::vector<Keyed> builtin, Key(BuiltinPolicyDocuments()));
  for (auto& b : builtin) {
    const bool shadowed = std::any_of(keyed.begin(), keyed.end(),
                                      [&](const Keyed& k) { return k.kind == b.kind && k.name == b.name; });
    if (!shadowed) keyed.push_back(std::move(b));
  }
  MutexLock lock(mu_);
  CL_ASSIGN_OR_RETURN(std::shared_ptr<const PolicySet> set, BuildLocked(keyed, {}));
  directory_docs_ = std::move(keyed);
  set_ = std::move(set);
  return Status::Ok();
}

}  // namespace cloister::policy

namespace cloister::policy {

void PolicyEngine::EnsureLoaded(const std::shared_ptr<const void>& store,
                                const std::function<Result<std::vector<StoredDocument>>()>& read) {
  MutexLock lock(load_mu_);
  if (loaded_for_.lock() == store) return;
  auto stored = read();
  if (!stored.ok()) {
    MutexLock inner(mu_);
    load_error_ = "reading stored policies: " + stored.status().message();
    return;  // tried again on the next call
  }
  (void)LoadStored(std::move(*stored));  // a refusal is kept in load_error()
  loaded_for_ = store;
}

}  // namespace cloister::policy
