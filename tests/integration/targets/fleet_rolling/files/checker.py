"""Poll every host's service during a rolling update and judge the requests against the batches.

  checker.py poll --targets T.json --out R.jsonl [--interval S] [--timeout S] [--max-seconds S]
                  [--rounds N] [--stop-file F]
      one thread per host: GET its URL, record the request (start, end, host, ok, body or error),
      wait --interval, again, until --stop-file exists, --rounds requests per host were made or
      --max-seconds passed (both bound the loop whatever happens)
  checker.py mark --log B.jsonl start|end HOST
      record that HOST's batch starts or ends now (the rolling play calls it around each batch)
  checker.py report --targets T.json --records R.jsonl --log B.jsonl --old V1 --new V2
      print, as JSON, per host and per batch: requests, failures, and the violations: a failed
      request that does not overlap its own host's batch; the new version served before the
      host's batch started; the old version after its batch ended

T.json maps each host to its URL. All times are this machine's wall clock (time.time()), which
the marks and the requests share: the controller both runs the play and polls.
"""

import argparse
import json
import os
import sys
import threading
import time
import urllib.error
import urllib.request


def poll_host(host, url, options, records, lock):
    deadline = time.monotonic() + options.max_seconds
    for _round in range(options.rounds):
        if time.monotonic() >= deadline or (options.stop_file and os.path.exists(options.stop_file)):
            return
        started = time.time()
        record = {'host': host, 'start': started}
        try:
            with urllib.request.urlopen(url, timeout=options.timeout) as response:
                record.update(ok=True, body=response.read(256).decode('utf-8', 'replace').strip())
        except (urllib.error.URLError, OSError, ValueError) as exc:
            record.update(ok=False, error='%s: %s' % (type(exc).__name__, exc))
        record['end'] = time.time()
        with lock:
            records.write(json.dumps(record) + '\n')
            records.flush()
        time.sleep(options.interval)


def poll(options):
    with open(options.targets) as handle:
        targets = json.load(handle)
    lock = threading.Lock()
    with open(options.out, 'a') as records:
        threads = [threading.Thread(target=poll_host, args=(host, url, options, records, lock), daemon=True)
                   for host, url in sorted(targets.items())]
        for thread in threads:
            thread.start()
        for thread in threads:
            # Each thread ends by its own bounds; the extra second covers the request in flight.
            thread.join(options.max_seconds + options.timeout + options.interval + 1)
    return 0


def mark(options):
    with open(options.log, 'a') as handle:
        handle.write(json.dumps({'event': options.event, 'host': options.host, 'time': time.time()}) + '\n')
    return 0


def read_lines(path):
    with open(path) as handle:
        return [json.loads(line) for line in handle if line.strip()]


def batches_of(marks):
    """{host: [start, end]} from the marks; a batch without an end lasts until now."""
    batches = {}
    for entry in marks:
        window = batches.setdefault(entry['host'], [None, None])
        window[0 if entry['event'] == 'start' else 1] = entry['time']
    for window in batches.values():
        if window[1] is None:
            window[1] = time.time()
    return batches


def overlaps(record, window):
    return window is not None and window[0] is not None and record['end'] >= window[0] and record['start'] <= window[1]


def report(options):
    with open(options.targets) as handle:
        hosts = sorted(json.load(handle))
    records = read_lines(options.records)
    batches = batches_of(read_lines(options.log) if os.path.exists(options.log) else [])
    summary = {'requests': len(records), 'violations': [],
               'hosts': {host: {'requests': 0, 'ok': 0, 'failed': 0, 'failed_in_batch': 0, 'first': None, 'last': None}
                         for host in hosts},
               'batches': {host: {'start': window[0], 'end': window[1], 'others_requests': 0, 'others_ok': 0,
                                  'others_ok_min': None}
                           for host, window in sorted(batches.items())}}
    for record in sorted(records, key=lambda item: item['start']):
        host = record['host']
        counts = summary['hosts'][host]
        counts['requests'] += 1
        own = batches.get(host)
        if record['ok']:
            counts['ok'] += 1
            counts['first'] = counts['first'] or record['body']
            counts['last'] = record['body']
            if record['body'] == options.new and own and own[0] is not None and record['end'] < own[0]:
                summary['violations'].append(dict(record, why='new version before its batch'))
            if record['body'] == options.old and own and own[1] is not None and record['start'] > own[1]:
                summary['violations'].append(dict(record, why='old version after its batch'))
            if record['body'] not in (options.old, options.new):
                summary['violations'].append(dict(record, why='neither version'))
        else:
            counts['failed'] += 1
            if overlaps(record, own):
                counts['failed_in_batch'] += 1
            else:
                summary['violations'].append(dict(record, why='failed outside its batch'))
        for batch_host, window in batches.items():
            if batch_host != host and record['start'] >= window[0] and record['end'] <= window[1]:
                batch = summary['batches'][batch_host]
                batch['others_requests'] += 1
                batch['others_ok'] += 1 if record['ok'] else 0
    # The fewest successful requests any other host got during each batch: the polling was real.
    for batch_host, batch in summary['batches'].items():
        window = batches[batch_host]
        per_host = [sum(1 for record in records if record['host'] == other and record['ok']
                        and record['start'] >= window[0] and record['end'] <= window[1])
                    for other in hosts if other != batch_host]
        batch['others_ok_min'] = min(per_host) if per_host else None
    json.dump(summary, sys.stdout, indent=1, sort_keys=True)
    sys.stdout.write('\n')
    return 0


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n', 1)[0])
    commands = parser.add_subparsers(dest='command')
    command = commands.add_parser('poll')
    command.add_argument('--targets', required=True)
    command.add_argument('--out', required=True)
    command.add_argument('--interval', type=float, default=0.2)
    command.add_argument('--timeout', type=float, default=3.0)
    command.add_argument('--max-seconds', type=float, default=900.0)
    command.add_argument('--rounds', type=int, default=10000)
    command.add_argument('--stop-file')
    command = commands.add_parser('mark')
    command.add_argument('--log', required=True)
    command.add_argument('event', choices=('start', 'end'))
    command.add_argument('host')
    command = commands.add_parser('report')
    command.add_argument('--targets', required=True)
    command.add_argument('--records', required=True)
    command.add_argument('--log', required=True)
    command.add_argument('--old', required=True)
    command.add_argument('--new', required=True)
    options = parser.parse_args()
    if options.command is None:
        parser.error('a command: poll, mark or report')
    return {'poll': poll, 'mark': mark, 'report': report}[options.command](options)


if __name__ == '__main__':
    sys.exit(main())
