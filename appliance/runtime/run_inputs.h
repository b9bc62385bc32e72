// A run's inputs checked against the automation's declared inputs. Pure.
#pragma once

#include "appliance/core/json.h"
#include "appliance/core/status.h"

namespace cloister::runtime {

// `declared` is the definition's "inputs" mapping (or null), `given` the
// trigger's inputs. Returns the inputs the run gets: defaults filled in, and
// text accepted for integer, number and boolean inputs when it reads as one
// ("5", "2.5", "true"), so command-line values work. invalid_argument
// (reason "invalid_inputs", details {"problems": [{"input", "message"}]})
// naming every input that is unknown, missing, or of the wrong type; the
// messages never repeat the values.
Result<Json> CheckInputs(const Json& declared, const Json& given);

}  // namespace cloister::runtime
