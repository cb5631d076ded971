#include "gcs/table_names.h"

namespace halo::gcs {

const std::vector<std::string>& AllTables() {
  static const std::vector<std::string> tables = {kMetaTable, kKvTable, kJobTable, kNodeTable, kActorTable,
                                                  kServiceTable, kEventTable};
  return tables;
}

}  // namespace halo::gcs
