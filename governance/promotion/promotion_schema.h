// The promotion module's tables (deployments, pipeline_documents,
// promotions, promotion_approvals and promotion_history) as its parts of the
// appliance's migrations (appliance/storage/schema_layout.h).
//
// Shipped parts never change: each migration's checksum is computed over
// its parts joined in the layout's order, and a database recording another
// checksum is refused. A new table or change is a part for a new version,
// appended here and given its place in SchemaLayout().
#pragma once

#include <string_view>
#include <vector>

#include "appliance/storage/schema_layout.h"

namespace cloister::promotion {

// This module's parts (module "promotion"), in version order; two parts
// of one version in the order the layout joins them.
std::vector<MigrationPart> PromotionMigrationParts();

// Migration 7's text, which adds the CHECK on promotions.state (for the
// test that holds its list equal to StateCheckSql).
std::string_view StateCheckMigrationSql();

}  // namespace cloister::promotion
