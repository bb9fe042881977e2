// Beast's separate-compilation unit (BOOST_BEAST_SEPARATE_COMPILATION).
#include <boost/beast/src.hpp>
