// Owns: the control plane as the composition root sees it: every port of ports.h and the API's read
// model (api::Backend) in one object, made by make_control_plane(). main.cpp hands each protocol,
// output, source and API module only the ports it needs; nothing outside server/control names the
// supervisor that implements it.
#pragma once

#include <memory>
#include <string>

#include "fanout/fanout.h"
#include "server/config/config.h"
#include "server/control/api_model.h"
#include "server/control/ports.h"

namespace estuary::server {

class ControlPlane : public api::Backend,
                     public ClientRegistry,
                     public PublishPort,
                     public PlayPort,
                     public DemandPort,
                     public OutputControl,
                     public MetricsSource,
                     public MetricsExtension,
                     public ConfigSource {
 public:
  // The ports a protocol server gets (clients, publish, play, admission, configuration).
  virtual ControlPorts ports() = 0;
  virtual Admission& admission() = 0;
  virtual void set_vhost_id(std::string id) = 0;
  // Applies a newly loaded config to new streams and outputs; running ones keep going.
  virtual void apply_config(config::Config config) = 0;
};

// The supervisor. engine must outlive it.
std::unique_ptr<ControlPlane> make_control_plane(config::Config config, fanout::Engine& engine);

}  // namespace estuary::server
