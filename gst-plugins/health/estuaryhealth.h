/* Estuary stream-health plugin, public C API: static registration of the "estuaryhealth" plugin
 * (element estuaryhealth) for in-process use by the server and the tests. */
#ifndef __ESTUARY_HEALTH_H__
#define __ESTUARY_HEALTH_H__

#include <gst/gst.h>

G_BEGIN_DECLS

/**
 * estuary_health_register_static:
 *
 * Registers the "estuaryhealth" plugin (element estuaryhealth) with the default registry. Call
 * after gst_init(). Idempotent and thread-safe.
 */
void estuary_health_register_static (void);

G_END_DECLS

#endif /* __ESTUARY_HEALTH_H__ */
