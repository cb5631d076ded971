#include "serve/node_ingress.h"

#include <future>

#include "absl/strings/str_cat.h"
#include "common/logging.h"

namespace halo::serve {

NodeIngress::NodeIngress(Executor& executor, NodeIngressOptions options)
    : executor_(executor), options_(std::move(options)), table_(random_) {
  gcs_ = std::make_unique<GrpcServeClient>(options_.gcs_addresses, executor_, options_.rpc_timeout_ms);
  follower_ = std::make_unique<RouteFollower>(executor_, *gcs_, table_, options_.follower);
  caller_ = std::make_unique<ActorReplicaCaller>("", absl::StrCat("ingress-", options_.node_id, "-", random_.HexId(4)),
                                                 options_.calls_per_push_max);
  ingress_ = std::make_unique<HttpIngress>(table_, *caller_, options_.http);
  // Calls waiting on a replica the GCS no longer lists end now (a GET is then tried on another replica).
  follower_->SetReplacedListener([this](const std::vector<DeploymentRoute>& routes) { caller_->Retain(routes); });
}

NodeIngress::~NodeIngress() { Stop(); }

Status NodeIngress::Start() {
  HALO_RETURN_IF_ERROR(ingress_->Start());
  HALO_LOG_INFO("HTTP ingress for services on {}:{}", options_.http.host, ingress_->port());
  executor_.Post([this, alive = alive_] {
    if (!*alive) return;
    follower_->Start();
    report_timer_ = executor_.RunAfter(options_.report_interval_ms, [this, alive] {
      if (*alive) Report();
    });
  });
  return OkStatus();
}

void NodeIngress::Report() {
  rpc::ReportOngoingRequest request;
  request.set_node_id(options_.node_id);
  for (const auto& [replica, ongoing] : table_.AllOngoing()) (*request.mutable_ongoing())[replica] = ongoing;
  gcs_->ReportOngoing(request, [](Status) {});  // a lost report is followed by the next one
  report_timer_ = executor_.RunAfter(options_.report_interval_ms, [this, alive = alive_] {
    if (*alive) Report();
  });
}

void NodeIngress::Stop() {
  if (stopped_) return;
  stopped_ = true;
  ingress_->Stop();
  // The follower and the timer live on the executor: stop them there, unless it no longer runs.
  auto stopped = std::make_shared<std::promise<void>>();
  executor_.Post([this, alive = alive_, stopped] {
    if (*alive) {
      *alive = false;
      follower_->Stop();
      executor_.Cancel(report_timer_);
    }
    stopped->set_value();
  });
  stopped->get_future().wait_for(std::chrono::seconds(2));
}

}  // namespace halo::serve
