// Owns: DemandChain (see demand_chain.h).
#include "server/control/demand_chain.h"

namespace estuary::server {

DemandPort& DemandChain::add_port() {
  links_.push_back(std::make_unique<Link>(*this));
  return *links_.back();
}

void DemandChain::Link::set_demand_producer(DemandProducer p) {
  producer = std::move(p);
  chain_.install();
}

const DemandProducer* DemandChain::producer_for(const std::string& key) const {
  for (const auto& link : links_)
    if (link->producer.offers && link->producer.offers(key)) return &link->producer;
  return nullptr;
}

void DemandChain::install() {
  DemandProducer all;
  all.offers = [this](const std::string& key) { return producer_for(key) != nullptr; };
  all.request = [this](const std::string& key) {
    if (const DemandProducer* p = producer_for(key); p && p->request) p->request(key);
  };
  all.check = [this](const std::string& key, const std::string& query) -> Status {
    const DemandProducer* p = producer_for(key);
    return p && p->check ? p->check(key, query) : ok_status();
  };
  all.wait_ms_for = [this](const std::string& key) {
    const DemandProducer* p = producer_for(key);
    if (!p) return DemandProducer{}.wait_ms;
    return p->wait_ms_for ? p->wait_ms_for(key) : p->wait_ms;
  };
  target_.set_demand_producer(std::move(all));
}

}  // namespace estuary::server
