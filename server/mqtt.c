/* mqtt: see mqtt.h. Two threads: libmosquitto's network loop (mosquitto_loop_start: reads,
 * writes, keep-alives, QoS 1 retries, reconnects) and ours, which takes verdicts from the outbox
 * and calls mosquitto_publish while connected. */
#include "mqtt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"

#ifndef INSPECTD_HAVE_MOSQUITTO

enum status mqtt_create(struct mqtt **out, const struct mqtt_options *o, struct metrics *m)
{
    (void)o, (void)m;
    *out = NULL;
    return status_fail(STATUS_UNSUPPORTED, "this inspectd was built without libmosquitto "
                       "(install libmosquitto-dev and rebuild) so --mqtt is not available");
}

void mqtt_publish(struct mqtt *q, const char *station, const char *json, size_t len)
{
    (void)q, (void)station, (void)json, (void)len;
}

void mqtt_free(struct mqtt *q)
{
    (void)q;
}

#else

#include <mosquitto.h>
#include <pthread.h>
#include <stdatomic.h>

#include "clock.h"
#include "outbox.h"

#define MQTT_DEFAULT_TOPIC "inspectd/{line}/{station}/result"

struct mqtt {
    struct mosquitto *mosq;
    struct outbox *out;
    struct metrics *metrics;
    pthread_t thread;
    bool thread_started, loop_started;
    atomic_int connected;
    char topic[256], line[64], instance[64], status_topic[160];
};

static void on_connect(struct mosquitto *mosq, void *user, int rc)
{
    struct mqtt *q = user;
    if (rc != 0) {
        fprintf(stdout, "mqtt: connection refused: %s\n", mosquitto_connack_string(rc));
        return;
    }
    atomic_store(&q->connected, 1);
    mosquitto_publish(mosq, NULL, q->status_topic, 6, "online", 1, true); /* birth */
    fprintf(stdout, "mqtt: connected; online on %s\n", q->status_topic);
}

static void on_disconnect(struct mosquitto *mosq, void *user, int rc)
{
    (void)mosq;
    struct mqtt *q = user;
    atomic_store(&q->connected, 0);
    if (rc != 0)
        fprintf(stdout, "mqtt: connection lost (%s); reconnecting with backoff\n",
                mosquitto_strerror(rc));
}

/* The topic of a station: the template with {line}, {station}, {instance} filled in. */
static void make_topic(char *dst, size_t cap, const struct mqtt *q, const char *station)
{
    size_t at = 0;
    for (const char *t = q->topic; *t && at + 1 < cap;) {
        const char *v = NULL;
        size_t skip = 0;
        if (!strncmp(t, "{line}", 6))
            v = q->line, skip = 6;
        else if (!strncmp(t, "{station}", 9))
            v = station, skip = 9;
        else if (!strncmp(t, "{instance}", 10))
            v = q->instance, skip = 10;
        if (v) {
            at += (size_t)snprintf(dst + at, cap - at, "%s", v);
            if (at >= cap)
                at = cap - 1;
            t += skip;
        } else {
            dst[at++] = *t++;
        }
    }
    dst[at] = 0;
}

/* Our thread: the outbox to mosquitto_publish. Holds a message while disconnected; after
 * outbox_close, keeps going while connected for up to 3 s to flush what is queued. */
static void *publisher_main(void *arg)
{
    struct mqtt *q = arg;
    struct outbox_msg m = {0};
    bool have = false;
    double close_t = 0;
    for (;;) {
        if (!have)
            have = outbox_pop(q->out, &m, 0.25);
        if (outbox_closed(q->out)) {
            if (close_t == 0)
                close_t = clock_now();
            if (!have || !atomic_load(&q->connected) || clock_now() - close_t > 3)
                break;
        }
        if (!have)
            continue;
        if (!atomic_load(&q->connected)) {
            usleep(50000);
            continue;
        }
        char topic[512];
        make_topic(topic, sizeof topic, q, m.key);
        int rc = mosquitto_publish(q->mosq, NULL, topic, (int)m.len, m.body, 1, false);
        if (rc == MOSQ_ERR_NO_CONN) {
            usleep(50000); /* keep it; the network loop reconnects */
            continue;
        }
        if (q->metrics)
            metrics_published(q->metrics, "mqtt", rc != MOSQ_ERR_SUCCESS);
        outbox_msg_free(&m);
        have = false;
    }
    if (have) {
        outbox_msg_free(&m);
        if (q->metrics)
            metrics_published(q->metrics, "mqtt", true);
    }
    return NULL;
}

static void copy_or(char *dst, size_t cap, const char *v, const char *dflt)
{
    snprintf(dst, cap, "%s", v && v[0] ? v : dflt);
}

enum status mqtt_create(struct mqtt **out, const struct mqtt_options *o, struct metrics *m)
{
    *out = NULL;
    /* mqtt://host[:port] or mqtts://host[:port] */
    bool tls = !strncmp(o->url, "mqtts://", 8);
    if (!tls && strncmp(o->url, "mqtt://", 7))
        return status_fail(STATUS_RANGE, "--mqtt %s: expected mqtt://HOST[:PORT] or "
                           "mqtts://HOST[:PORT]", o->url);
    const char *hp = o->url + (tls ? 8 : 7);
    char host[256];
    int port = tls ? 8883 : 1883;
    size_t hl = strcspn(hp, ":/");
    if (hl == 0 || hl >= sizeof host)
        return status_fail(STATUS_RANGE, "--mqtt %s: no host", o->url);
    memcpy(host, hp, hl);
    host[hl] = 0;
    if (hp[hl] == ':') {
        char *end;
        long p = strtol(hp + hl + 1, &end, 10);
        if (p < 1 || p > 65535 || (*end && *end != '/'))
            return status_fail(STATUS_RANGE, "--mqtt %s: bad port", o->url);
        port = (int)p;
    }
    struct mqtt *q = calloc(1, sizeof *q);
    if (!q)
        return status_fail(STATUS_NOMEM, "out of memory for the MQTT client");
    q->metrics = m;
    char hostname[64] = "inspectd";
    gethostname(hostname, sizeof hostname - 1);
    copy_or(q->topic, sizeof q->topic, o->topic, MQTT_DEFAULT_TOPIC);
    copy_or(q->line, sizeof q->line, o->line, "line");
    copy_or(q->instance, sizeof q->instance, o->instance, hostname);
    snprintf(q->status_topic, sizeof q->status_topic, "inspectd/%s/status", q->instance);
    enum status s = outbox_create(&q->out, o->outbox > 0 ? o->outbox : 1000);
    if (s) {
        free(q);
        return s;
    }
    mosquitto_lib_init();
    char id[96];
    snprintf(id, sizeof id, "inspectd-%s", q->instance);
    int rc = MOSQ_ERR_NOMEM;
    if (!(q->mosq = mosquitto_new(id, true, q)))
        goto fail;
    mosquitto_connect_callback_set(q->mosq, on_connect);
    mosquitto_disconnect_callback_set(q->mosq, on_disconnect);
    mosquitto_reconnect_delay_set(q->mosq, 1, 30, true);
    if ((rc = mosquitto_will_set(q->mosq, q->status_topic, 7, "offline", 1, true)))
        goto fail;
    if (o->username && o->username[0] &&
        (rc = mosquitto_username_pw_set(q->mosq, o->username,
                                        o->password && o->password[0] ? o->password : NULL)))
        goto fail;
    if (tls && (rc = mosquitto_tls_set(q->mosq, o->cafile && o->cafile[0] ? o->cafile : NULL,
                                       o->cafile && o->cafile[0] ? NULL : "/etc/ssl/certs",
                                       NULL, NULL, NULL)))
        goto fail;
    rc = mosquitto_connect_async(q->mosq, host, port, 30);
    if (rc != MOSQ_ERR_SUCCESS) /* the broker is down: the loop keeps trying */
        fprintf(stdout, "mqtt: %s:%d not reachable yet (%s); retrying in the background\n",
                host, port, mosquitto_strerror(rc));
    if ((rc = mosquitto_loop_start(q->mosq)))
        goto fail;
    q->loop_started = true;
    if (pthread_create(&q->thread, NULL, publisher_main, q)) {
        rc = MOSQ_ERR_NOMEM;
        goto fail;
    }
    q->thread_started = true;
    fprintf(stdout, "mqtt: broker %s:%d%s topic=%s status=%s outbox=%d\n", host, port,
            tls ? " (TLS)" : "", q->topic, q->status_topic, o->outbox > 0 ? o->outbox : 1000);
    *out = q;
    return STATUS_OK;
fail:
    s = status_fail(rc == MOSQ_ERR_NOMEM ? STATUS_NOMEM : STATUS_RANGE, "mqtt: %s",
                    mosquitto_strerror(rc));
    mqtt_free(q);
    return s;
}

void mqtt_publish(struct mqtt *q, const char *station, const char *json, size_t len)
{
    if (!q)
        return;
    if (!outbox_push(q->out, station && station[0] ? station : "unknown", json, len) &&
        q->metrics)
        metrics_published(q->metrics, "mqtt", true);
}

void mqtt_free(struct mqtt *q)
{
    if (!q)
        return;
    if (q->out)
        outbox_close(q->out);
    if (q->thread_started)
        pthread_join(q->thread, NULL);
    if (q->mosq && atomic_load(&q->connected)) {
        int mid;
        mosquitto_publish(q->mosq, &mid, q->status_topic, 7, "offline", 1, true);
        usleep(200000); /* let the network loop send it and the queued verdicts' acks come */
        mosquitto_disconnect(q->mosq);
    }
    if (q->loop_started)
        mosquitto_loop_stop(q->mosq, !atomic_load(&q->connected));
    if (q->mosq)
        mosquitto_destroy(q->mosq);
    mosquitto_lib_cleanup();
    outbox_free(q->out);
    free(q);
}

#endif
