#pragma once
// Whole-body HTTP content codings (RFC 9110 §8.4.1): what a response sends compressed
// when the client accepts it — Engine.IO polling payloads, the client bundle.

#include <string>
#include <string_view>

namespace switchboard::http {

enum class ContentCoding { gzip, deflate };  // deflate: zlib-wrapped (RFC 1950), as HTTP means it

// Compresses `body` into `out` at zlib `level` (-1: zlib's default, 9: smallest).
// False if zlib fails (then `out` holds nothing useful).
bool compress(std::string_view body, ContentCoding coding, std::string& out, int level = -1);

}  // namespace switchboard::http
