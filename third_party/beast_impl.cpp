// Beast's separate-compilation unit (BOOST_BEAST_SEPARATE_COMPILATION).
//
// Beast's chunk parser asserts that a final chunk re-presented while incomplete follows
// a data chunk (basic_parser.ipp, "n >= 5"); an empty chunked body fed a byte at a time
// breaks that assumption, and a Debug build would abort on a valid request. The code
// under the assertion handles the case; the assertion is wrong. Release builds compile
// assertions out anyway; this makes Debug builds agree.
#define BOOST_DISABLE_ASSERTS
#include <boost/beast/src.hpp>
