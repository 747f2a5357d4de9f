// Owns: DemandChain, the one DemandProducer the supervisor holds made of several (the pulled
// sources' and the cluster edge's): each producer gets its own DemandPort from the chain; a key is
// served by the first producer that offers it. Control thread.
// Must not know: what the producers are.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "server/control/ports.h"

namespace estuary::server {

class DemandChain {
 public:
  explicit DemandChain(DemandPort& target) : target_(target) {}
  ~DemandChain() { target_.set_demand_producer({}); }
  DemandChain(const DemandChain&) = delete;
  DemandChain& operator=(const DemandChain&) = delete;

  // A port for one more producer, asked after those added before it; valid while the chain lives.
  DemandPort& add_port();

 private:
  class Link : public DemandPort {
   public:
    Link(DemandChain& chain) : chain_(chain) {}
    void set_demand_producer(DemandProducer producer) override;
    DemandProducer producer;

   private:
    DemandChain& chain_;
  };
  const DemandProducer* producer_for(const std::string& key) const;
  void install();

  DemandPort& target_;
  std::vector<std::unique_ptr<Link>> links_;
};

}  // namespace estuary::server
