// Small text helpers shared by the readers: UTF-8 validation and safe echoing of input.
#pragma once

#include <cstddef>
#include <istream>
#include <string>
#include <string_view>

namespace ccaflow {

// The length of the valid UTF-8 sequence starting at text[0] (1 to 4), or 0 when the bytes
// there are not valid UTF-8 (overlong forms and surrogates included).
std::size_t utf8_sequence_length(std::string_view text);
// The offset of the first byte that is not valid UTF-8, or npos.
std::size_t invalid_utf8_at(std::string_view text);
// `text` shortened to `max` characters with control and non-UTF-8 bytes shown as '?', for
// quoting input back in a message without writing raw bytes to the terminal.
std::string printable(std::string_view text, std::size_t max = 60);
// Reads at most `max_bytes + 1` bytes (one more than allowed, so the caller can tell an
// input that is too big), in pieces: a small file costs little, an endless device stops.
std::string read_capped(std::istream& in, std::size_t max_bytes);

}  // namespace ccaflow
