"""Start and stop the real servers of the real-API tier, on 127.0.0.1 only.

Rules of this file:
- Neutron is PyPI's neutron 29.0.0 and moto is moto[server] 5.2.5, each run by the python
  of its own pinned venv (tests/realapi/venvs.py), never the project's;
- each server binds 127.0.0.1 on a free port the server picks itself and writes to
  `<workdir>/port`; the parent waits for a 200 and stops the process group at the end;
- Neutron: sqlite, `auth_strategy = noauth`, `transport_url = fake:/`, ML2 with no
  mechanism driver, the port_security extension driver, and Neutron's default quotas
  (nothing in the config touches `[quotas]`: 10 groups and 100 rules per project);
- `sqlite_synchronous = false` (oslo.db): no fsync per commit. A throwaway database needs
  no durability, and the fsyncs were most of a request's wall time on a shared disk
  (bench/realapi.py); what Neutron checks and answers is the same;
- the schema comes from the models (`head.get_metadata().create_all`) rather than from
  migrations (minutes on 2 cores); create_all skips the data migration c33da356b165
  seeds, the default-rule templates, so the runner inserts them from that migration:
  without them a new group gets no egress rules, unlike any real Neutron;
- with this paste pipeline every request runs as admin without a project, so every
  POST body carries `project_id` (a fresh random one per test: fresh quotas, own
  `default` group, no restart).
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

NEUTRON_CONF = """\
[DEFAULT]
core_plugin = ml2
service_plugins = {service_plugins}
auth_strategy = noauth
transport_url = fake:/
api_paste_config = {workdir}/api-paste.ini
state_path = {workdir}
bind_host = 127.0.0.1
api_workers = 0
rpc_workers = 0
rpc_state_report_workers = 0
notify_nova_on_port_status_changes = false
notify_nova_on_port_data_changes = false
debug = {debug}
use_stderr = true
log_file =
[database]
connection = sqlite:///{workdir}/neutron.sqlite
sqlite_synchronous = false
[oslo_concurrency]
lock_path = {workdir}/lock
[agent]
report_interval = 0
"""

ML2_CONF = """\
[ml2]
type_drivers = local,flat,vlan,vxlan
tenant_network_types = vxlan
mechanism_drivers =
extension_drivers = port_security
[ml2_type_flat]
flat_networks = *
[ml2_type_vlan]
network_vlan_ranges = physnet1:100:200
[ml2_type_vxlan]
vni_ranges = 1:10000
[securitygroup]
enable_security_group = true
"""

# neutron/tests/etc/api-paste.ini (shipped in the wheel), as it is.
API_PASTE = """\
[composite:neutron]
use = egg:Paste#urlmap
/: neutronversions_composite
/v2.0: neutronapi_v2_0

[composite:neutronapi_v2_0]
use = call:neutron.auth:pipeline_factory
noauth = cors http_proxy_to_wsgi request_id catch_errors extensions neutronapiapp_v2_0
keystone = cors http_proxy_to_wsgi request_id catch_errors authtoken keystonecontext extensions neutronapiapp_v2_0

[composite:neutronversions_composite]
use = call:neutron.auth:pipeline_factory
noauth = cors http_proxy_to_wsgi neutronversions
keystone = cors http_proxy_to_wsgi neutronversions

[filter:request_id]
paste.filter_factory = oslo_middleware:RequestId.factory

[filter:catch_errors]
paste.filter_factory = oslo_middleware:CatchErrors.factory

[filter:cors]
paste.filter_factory = oslo_middleware.cors:filter_factory
oslo_config_project = neutron

[filter:http_proxy_to_wsgi]
paste.filter_factory = oslo_middleware.http_proxy_to_wsgi:HTTPProxyToWSGI.factory

[filter:keystonecontext]
paste.filter_factory = neutron.auth:NeutronKeystoneContext.factory

[filter:authtoken]
paste.filter_factory = keystonemiddleware.auth_token:filter_factory
www_authenticate_uri = http://localhost:5000

[filter:extensions]
paste.filter_factory = neutron.api.extensions:plugin_aware_extension_middleware_factory

[app:neutronversions]
paste.app_factory = neutron.pecan_wsgi.app:versions_factory

[app:neutronapiapp_v2_0]
paste.app_factory = neutron.api.v2.router:APIRouter.factory
"""

# Runs inside the neutron venv: build schema, build the paste app, serve it.
RUNNER = r'''
import os, sys, socketserver, threading
from wsgiref import simple_server
workdir = sys.argv[1]
conf = [os.path.join(workdir, "neutron.conf"), os.path.join(workdir, "ml2_conf.ini")]

import sqlalchemy
from neutron.db.migration.models import head
engine = sqlalchemy.create_engine("sqlite:///" + os.path.join(workdir, "neutron.sqlite"))
md = head.get_metadata()
md.create_all(engine)
# create_all() skips the data that migration c33da356b165 seeds: the 4 default
# security-group rule templates (egress v4/v6 for every SG, ingress from the
# group itself for "default").  Without them new SGs get no rules at all.
import importlib.util, glob, neutron
mig = glob.glob(os.path.join(os.path.dirname(neutron.__file__), "db/migration/alembic_migrations/"
                             "versions/2023.2/expand/c33da356b165_*.py"))[0]
spec = importlib.util.spec_from_file_location("sg_default_rules_mig", mig)
m = importlib.util.module_from_spec(spec); spec.loader.exec_module(m)
sa_tbl, tpl_tbl = md.tables["standardattributes"], md.tables["securitygroupdefaultrules"]
with engine.begin() as c:
    for rule in m.default_template_rules:
        rule = dict(rule)
        res = c.execute(sa_tbl.insert().values(description=rule.pop("description"),
                                                resource_type="securitygroupdefaultrules"))
        c.execute(tpl_tbl.insert().values(standard_attr_id=res.inserted_primary_key[0], **rule))
engine.dispose()

sys.argv = ["neutron-api"] + sum((["--config-file", c] for c in conf), [])
from neutron import server
from neutron.server import api
app = server.boot_server(api.api_server, prog="neutron-api")
if app is None:
    sys.exit("neutron app failed to load")

class Handler(simple_server.WSGIRequestHandler):
    def log_message(self, *a):  # quiet access log
        pass

class Server(socketserver.ThreadingMixIn, simple_server.WSGIServer):
    daemon_threads = True
    allow_reuse_address = True

srv = simple_server.make_server("127.0.0.1", 0, app, server_class=Server, handler_class=Handler)
port = srv.server_address[1]
tmp = os.path.join(workdir, "port.tmp")
with open(tmp, "w") as f:
    f.write(str(port))
os.rename(tmp, os.path.join(workdir, "port"))
srv.serve_forever()
'''


def _wait_for_port(proc: subprocess.Popen, workdir: Path, log: Path, deadline: float) -> str:
    port_file = workdir / "port"
    while not port_file.exists():
        if proc.poll() is not None:
            raise RuntimeError(f"server exited rc={proc.returncode}; {log}:\n" + log.read_text()[-3000:])
        if time.monotonic() > deadline:
            stop(proc)
            raise TimeoutError(f"server did not start; see {log}")
        time.sleep(0.05)
    return f"http://127.0.0.1:{port_file.read_text().strip()}"


def _wait_for_200(proc: subprocess.Popen, url: str, deadline: float) -> None:
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            stop(proc)
            raise TimeoutError(f"{url} did not answer 200")
        time.sleep(0.05)


def _spawn(python: Path, runner: str, workdir: Path, logname: str, drop: tuple[str, ...]) -> subprocess.Popen:
    (workdir / "runner.py").write_text(runner)
    env = {k: v for k, v in os.environ.items() if not k.startswith(drop + ("PYTHON", "VIRTUAL_ENV"))}
    with open(workdir / logname, "wb") as log:
        return subprocess.Popen([str(python), str(workdir / "runner.py"), str(workdir)], stdout=log,
                                stderr=subprocess.STDOUT, env=env, cwd=workdir, start_new_session=True)


def start_neutron(python: Path, workdir: Path, timeout: float = 120.0) -> tuple[str, subprocess.Popen]:
    """Write the configs, start neutron-api; return (url without /v2.0, process)."""
    workdir = Path(workdir).resolve()
    (workdir / "lock").mkdir(parents=True, exist_ok=True)
    for name in ("port", "neutron.sqlite"):
        (workdir / name).unlink(missing_ok=True)
    (workdir / "neutron.conf").write_text(NEUTRON_CONF.format(workdir=workdir, service_plugins="", debug="false"))
    (workdir / "ml2_conf.ini").write_text(ML2_CONF)
    (workdir / "api-paste.ini").write_text(API_PASTE)
    deadline = time.monotonic() + timeout
    proc = _spawn(python, RUNNER, workdir, "neutron.log", ("OS_",))
    url = _wait_for_port(proc, workdir, workdir / "neutron.log", deadline)
    _wait_for_200(proc, url + "/v2.0/extensions", deadline)
    return url, proc


MOTO_RUNNER = r"""
import os, sys, threading
workdir = sys.argv[1]
from moto.server import ThreadedMotoServer
srv = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
srv.start()
port = srv.get_host_and_port()[1]
tmp = os.path.join(workdir, "port.tmp")
with open(tmp, "w") as f:
    f.write(str(port))
os.rename(tmp, os.path.join(workdir, "port"))
threading.Event().wait()
"""


def start_moto(python: Path, workdir: Path, timeout: float = 60.0) -> tuple[str, subprocess.Popen]:
    workdir = Path(workdir).resolve()
    workdir.mkdir(parents=True, exist_ok=True)
    (workdir / "port").unlink(missing_ok=True)
    deadline = time.monotonic() + timeout
    proc = _spawn(python, MOTO_RUNNER, workdir, "moto.log", ("AWS_", "MOTO_"))
    url = _wait_for_port(proc, workdir, workdir / "moto.log", deadline)
    _wait_for_200(proc, url + "/moto-api/data.json", deadline)
    return url, proc


def reset_moto(url: str) -> None:
    """Wipe all of moto's state (0.1 s): one clean account per test."""
    urllib.request.urlopen(urllib.request.Request(url + "/moto-api/reset", method="POST"), timeout=10).read()


def stop(proc: subprocess.Popen, timeout: float = 10.0) -> None:
    """SIGTERM to the server's own process group (it was started in a new session), then SIGKILL."""
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
