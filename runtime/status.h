// `status`: where a run stands, read from its database without taking the writer's lock.
#pragma once

#include <string>

namespace ccaflow {

int show_status(const std::string& db, const std::string& format);

}  // namespace ccaflow
