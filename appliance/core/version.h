// The release this binary belongs to, e.g. "0.2.0". Defined in its own
// translation unit (version.cpp, compiled once per release string) so that
// everything else is compiled without it.
#pragma once

namespace cloister {

const char* CloisterVersion();

}  // namespace cloister
