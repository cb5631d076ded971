// The dashboard's single page (src/dashboard/index.html, compiled into the binary): HTML, CSS and a script that
// reads only the JSON API of the GCS that served it.
#pragma once

#include <string>

namespace halo::dashboard {

const std::string& DashboardPage();

}  // namespace halo::dashboard
