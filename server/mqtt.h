/* mqtt: every verdict published to an MQTT broker (libmosquitto; server/mqtt.c is the only file
 * that includes <mosquitto.h>), without ever blocking or failing a request.
 *
 * Verdicts go into a bounded outbox (outbox.h); a publisher thread hands them to libmosquitto at
 * QoS 1 while connected and holds the oldest while not (a full outbox drops new verdicts,
 * counted as inspectd_mqtt_dropped_total). libmosquitto's own thread reconnects with
 * exponential backoff (1 s doubling to 30 s). Topic: the template with {line}, {station} (the
 * request's, "unknown" when it gave none) and {instance} filled in; default
 * inspectd/{line}/{station}/result. Status: "online" retained at QoS 1 on
 * inspectd/{instance}/status at each connection (birth), "offline" retained as the last will
 * (the broker publishes it if the daemon dies) and at a clean stop. */
#ifndef INSPECTD_MQTT_H
#define INSPECTD_MQTT_H

#include <stdbool.h>
#include <stddef.h>

#include "status.h"

struct metrics;
struct mqtt;

struct mqtt_options {
    const char *url;      /* mqtt://host[:port] (1883) or mqtts://host[:port] (8883, TLS) */
    const char *topic;    /* template ("" = the default) */
    const char *line;     /* {line} ("" = "line") */
    const char *instance; /* {instance} and the client id ("" = the host name) */
    const char *username; /* "" = none */
    const char *password;
    const char *cafile;   /* TLS: CA file ("" = the system's CA folder /etc/ssl/certs) */
    int outbox;           /* verdicts held at most */
};

/* Starts the client and its threads; the connection is made in the background (a broker that
 * is down is retried, never fatal). STATUS_UNSUPPORTED when built without libmosquitto,
 * STATUS_RANGE for a bad URL, STATUS_NOMEM. *out owned by the caller: mqtt_free. */
enum status mqtt_create(struct mqtt **out, const struct mqtt_options *o, struct metrics *m);
/* Queues one verdict (JSON) for the topic of station (NULL or "" = "unknown"). Never blocks;
 * a full outbox drops it (counted). */
void mqtt_publish(struct mqtt *q, const char *station, const char *json, size_t len);
/* Publishes what is queued (for up to a few seconds while connected), "offline", disconnects,
 * and frees. NULL is fine. */
void mqtt_free(struct mqtt *q);

#endif
