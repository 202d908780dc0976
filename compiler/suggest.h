// "Did you mean" suggestions for misspelled names.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace ccaflow {

std::size_t edit_distance(std::string_view a, std::string_view b);
// The closest candidate within a distance that scales with the name's length.
std::optional<std::string> closest_name(std::string_view name, const std::vector<std::string>& candidates);
// " (did you mean `x`?)" or "".
std::string did_you_mean(std::string_view name, const std::vector<std::string>& candidates);

}  // namespace ccaflow
