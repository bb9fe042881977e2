// Boost.JSON compiled once here, instead of linking a prebuilt library or inlining it
// into every file.
#include <boost/json/src.hpp>
