// Start-up reconciliation of the store with storage: kleened can be killed at any point of any
// operation, so at start every container, image and volume row is compared with the datasets
// below kleene_root, and what one side has without the other is repaired (each repair logged):
//
//   dataset, no row   half made (kleened died before the row was written): destroyed
//   row, no dataset   half removed (died after the dataset went): the row is removed, or for a
//                     volume that containers still mount, an empty dataset is made again
//
// Nothing is destroyed unless storage answered the listing: a pool that cannot be read leaves
// everything as it is. Running containers (re-adopted before) are never touched.
#pragma once

#include <set>
#include <string>

#include "container/service.hpp"

namespace kleene::container {

struct ReconcileReport {
  int datasets_destroyed = 0;
  int rows_removed = 0;
  int datasets_recreated = 0;
  int failures = 0;  // repairs that were needed but failed (logged)
};

// With lifecycle_mutex() held. `running`: the ids of containers that run (re-adopted).
ReconcileReport reconcile_storage(Env& env, const std::set<std::string>& running);

}  // namespace kleene::container
