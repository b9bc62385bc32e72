#include "appliance/core/version.h"

namespace cloister {

const char* CloisterVersion() { return CLOISTER_VERSION; }

}  // namespace cloister
