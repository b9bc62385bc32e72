// What a restore does to API tokens. A restore puts back the database as it
// was when the backup was taken, so compared with the database it replaces:
// tokens created after the backup no longer exist, and tokens revoked after
// the backup are live again. CompareTokens finds both (a pure function, no
// database); cloisterctl lists them and hands them to the first unseal in the
// restore marker, which revokes the revived ones again in the unit that
// records the restore.
#pragma once

#include <string>
#include <vector>

#include "appliance/core/json.h"
#include "appliance/core/status.h"
#include "appliance/identity/token_store.h"

namespace cloister {

struct TokenChange {
  std::string id, name, owner_id, owner_name;
  std::string created_at;  // in the replaced database
  std::string revoked_at;  // in the replaced database; "" when live there
};

struct TokenChanges {
  // In the replaced database only: gone after the restore.
  std::vector<TokenChange> created_after_backup;
  // Revoked in the replaced database, live in the backup: revived by the
  // restore until revoked again.
  std::vector<TokenChange> revoked_after_backup;
};

// Compares the tokens of the backup with those of the database it replaces.
// Ordered as the inputs are (by creation).
TokenChanges CompareTokens(const std::vector<TokenInfo>& in_backup, const std::vector<TokenInfo>& in_replaced);

// The changes as the restore marker holds them, and back. The marker is read
// at unseal: invalid_argument naming the first entry that is not an object
// of strings with a non-empty "id".
Json TokenChangesToJson(const TokenChanges& changes);
Result<TokenChanges> TokenChangesFromJson(const Json& json);

}  // namespace cloister
