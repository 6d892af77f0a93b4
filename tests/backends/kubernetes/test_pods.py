"""The Pod builder (kubernetes/pods.py): every manifest it can make is valid
Kubernetes (kubernetes-validate, strict, see schema.py) and means what the job asked."""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Mapping
from typing import Any

import kubernetes_validate
import pytest

from neuro_jupyter.backends.environment import job_environment
from neuro_jupyter.backends.kubernetes.conventions import CONVENTIONS, parse_conventions
from neuro_jupyter.backends.kubernetes.pods import (
    DEADLINE_EXCEEDED,
    PodConfig,
    StorageClaim,
    active_deadline,
    pod_manifest,
    storage_sub_path,
)
from neuro_jupyter.jobs.addresses import JobAddresses
from neuro_jupyter.jobs.errors import InvalidSpec
from neuro_jupyter.jobs.model import (
    HttpSpec,
    Job,
    JobSpec,
    Preset,
    RestartPolicy,
    Volume,
)

from .schema import check_pod

GiB = 2**30
PRESETS = {
    "cpu": Preset("cpu-small", 1, 2 * GiB),
    "gpu": Preset("gpu-t4", 4, 16 * GiB, gpu=1, gpu_model="nvidia-tesla-t4"),
    "gpu-any-model": Preset("gpu-any", 4, 16 * GiB, gpu=2),
    "cpu-spot": Preset("cpu-spot", 2, 4 * 10**9, preemptible=True),
    "gpu-spot": Preset("gpu-spot", 8.5, 32 * GiB, gpu=2, gpu_model="a10g", preemptible=True),
    "placed": Preset(
        "placed",
        0.5,
        512 * 2**20,
        gpu=1,
        node_selector={"pool": "research"},
        tolerations=({"key": "team", "operator": "Equal", "value": "ml", "effect": "NoSchedule"},),
        priority_class="research-high",
    ),
}
CONFIGS = {name: PodConfig(conventions=conventions) for name, conventions in CONVENTIONS.items()}
CONFIGS["custom"] = PodConfig(
    conventions=parse_conventions(
        {"base": "karpenter", "spot_taint": {"key": "spot", "effect": "NoExecute"}}
    ),
    storage=StorageClaim("team-storage", "users/home"),
    image_pull_policy="IfNotPresent",
    service_account="jobs",
    priority_class="jobs",
    preemptible_priority_class="spot-jobs",
    life_span_margin=0,
    kill_grace_period=30,
)
FULL_SPEC = JobSpec(
    image="ghcr.io/example/train:1.2",
    command="python train.py --data /data --out '/home/out dir'",
    name="train",
    volumes=(Volume("", "/home"), Volume("datasets/mnist", "/data", read_only=True)),
    env={"EPOCHS": "3", "WANDB_MODE": "offline"},
    workdir="/home",
    http=HttpSpec(8888),
    life_span=3 * 3600,
)


def make_job(
    spec: JobSpec = FULL_SPEC, preset: Preset = PRESETS["cpu"], owner: str = "alice"
) -> Job:
    return Job.create(owner, spec, preset)


def container(pod: Mapping[str, Any]) -> dict[str, Any]:
    [only] = pod["spec"]["containers"]
    return dict(only)


def env_of(pod: Mapping[str, Any]) -> dict[str, str]:
    return {item["name"]: item["value"] for item in container(pod)["env"]}


def mounts_of(pod: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["mountPath"]: m for m in container(pod)["volumeMounts"]}


def required_terms(pod: Mapping[str, Any]) -> list[dict[str, Any]]:
    affinity = pod["spec"].get("affinity", {}).get("nodeAffinity", {})
    required = affinity.get("requiredDuringSchedulingIgnoredDuringExecution", {})
    terms: list[dict[str, Any]] = required.get("nodeSelectorTerms", [])
    return terms


# -- every manifest is valid Kubernetes ---------------------------------------


@pytest.mark.parametrize("config_name", sorted(CONFIGS))
@pytest.mark.parametrize("preset_name", sorted(PRESETS))
def test_every_preset_under_every_convention_is_a_valid_pod(
    preset_name: str, config_name: str
) -> None:
    pod = pod_manifest(make_job(preset=PRESETS[preset_name]), CONFIGS[config_name])
    check_pod(pod)


SPECS = {
    "image only": JobSpec(image="python"),
    "no life span": JobSpec(image="python", command="sleep infinity", life_span=0),
    "storage root rw": JobSpec(image="python", volumes=(Volume("", "/home"),)),
    "path ro": JobSpec(image="python", volumes=(Volume("data/x", "/data", read_only=True),)),
    "absolute own path": JobSpec(image="python", volumes=(Volume("/alice/code", "/code"),)),
    "many volumes": JobSpec(
        image="python",
        volumes=(
            Volume("", "/home"),
            Volume("a", "/mnt/a", read_only=True),
            Volume("a/b", "/mnt/b"),
            Volume("c", "/dev/shm/c"),
        ),
    ),
    "http": JobSpec(image="jupyter/base-notebook", http=HttpSpec(8888, auth=False)),
    "env and workdir": JobSpec(image="python", env={"A": "1", "EMPTY": ""}, workdir="/srv"),
    # Neu.ro's env names (issue 13): Kubernetes takes printable ASCII but '='.
    "env names": JobSpec(image="python", env={"A-B": "1", "A.B": "2", "1X": "3", "a:b~": ""}),
    "full": FULL_SPEC,
    **{
        f"restart {policy.value}": JobSpec(image="python", command="false", restart=policy)
        for policy in RestartPolicy
    },
}


@pytest.mark.parametrize("spec_name", sorted(SPECS))
@pytest.mark.parametrize("preset_name", ["cpu", "gpu-spot"])
def test_every_spec_is_a_valid_pod(spec_name: str, preset_name: str) -> None:
    pod = pod_manifest(make_job(SPECS[spec_name], PRESETS[preset_name]), CONFIGS["custom"])
    check_pod(pod)


# -- a literal manifest (as kubespawner's tests/test_objects.py) ---------------


def test_a_cpu_job_as_a_literal_manifest() -> None:
    job = Job(
        id="job-0b9e4c1a-7d25-4d7e-9a39-6f1f4f0c2d11",
        owner="alice",
        spec=JobSpec(image="python:3.12", command="python -m http.server 8000", name="web"),
        preset=PRESETS["cpu"],
    )
    assert pod_manifest(job, PodConfig()) == {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "job-0b9e4c1a-7d25-4d7e-9a39-6f1f4f0c2d11",
            "labels": {
                "app.kubernetes.io/managed-by": "neuro-jupyter",
                "neuro-jupyter/job-id": "job-0b9e4c1a-7d25-4d7e-9a39-6f1f4f0c2d11",
                "neuro-jupyter/owner": "alice",
                "neuro-jupyter/name": "web",
            },
            "annotations": {
                "neuro-jupyter/job-id": "job-0b9e4c1a-7d25-4d7e-9a39-6f1f4f0c2d11",
                "neuro-jupyter/owner": "alice",
                "neuro-jupyter/name": "web",
                "neuro-jupyter/cluster": "default",
                "neuro-jupyter/preset": "cpu-small",
                "neuro-jupyter/life-span": "86400",
            },
        },
        "spec": {
            "restartPolicy": "Never",
            "containers": [
                {
                    "name": "job",
                    "image": "python:3.12",
                    "args": ["python", "-m", "http.server", "8000"],
                    "env": [
                        {"name": "PYTHONUNBUFFERED", "value": "1"},
                        {
                            "name": "NEURO_JOB_ID",
                            "value": "job-0b9e4c1a-7d25-4d7e-9a39-6f1f4f0c2d11",
                        },
                        {"name": "NEURO_JOB_NAME", "value": "web"},
                        {"name": "NEURO_JOB_OWNER", "value": "alice"},
                        {"name": "NEURO_JOB_PRESET", "value": "cpu-small"},
                    ],
                    "resources": {
                        "requests": {"cpu": "1", "memory": "2Gi"},
                        "limits": {"cpu": "1", "memory": "2Gi"},
                    },
                    "terminationMessagePolicy": "FallbackToLogsOnError",
                    "volumeMounts": [{"name": "dshm", "mountPath": "/dev/shm"}],
                }
            ],
            "volumes": [{"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": "2Gi"}}],
            "enableServiceLinks": False,
            "automountServiceAccountToken": False,
            "terminationGracePeriodSeconds": 10,
            "activeDeadlineSeconds": 86400 + 86400,
            "affinity": {
                "nodeAffinity": {
                    "requiredDuringSchedulingIgnoredDuringExecution": {
                        "nodeSelectorTerms": [
                            {
                                "matchExpressions": [
                                    {
                                        "key": "neuro-jupyter/preemptible",
                                        "operator": "NotIn",
                                        "values": ["true"],
                                    }
                                ]
                            }
                        ]
                    }
                }
            },
        },
    }


# -- what the manifest means ---------------------------------------------------


def test_cpu_and_memory_requests_equal_limits() -> None:
    pod = pod_manifest(make_job(preset=PRESETS["cpu-spot"]), PodConfig())
    resources = container(pod)["resources"]
    assert resources["requests"] == resources["limits"] == {"cpu": "2", "memory": "4G"}
    fractional = pod_manifest(make_job(preset=PRESETS["gpu-spot"]), PodConfig())
    assert container(fractional)["resources"]["limits"]["cpu"] == "8500m"


@pytest.mark.parametrize("config_name", sorted(CONFIGS))
def test_gpus_are_whole_limits_equal_to_requests(config_name: str) -> None:
    config = CONFIGS[config_name]
    pod = pod_manifest(make_job(preset=PRESETS["gpu-spot"]), config)
    resources = container(pod)["resources"]
    assert resources["limits"]["nvidia.com/gpu"] == resources["requests"]["nvidia.com/gpu"] == "2"
    gpu_taint = config.conventions.gpu_taint
    assert gpu_taint is not None
    assert gpu_taint.toleration() in pod["spec"]["tolerations"]


@pytest.mark.parametrize("config_name", sorted(CONFIGS))
def test_the_gpu_model_selects_nodes_by_the_conventions_label(config_name: str) -> None:
    config = CONFIGS[config_name]
    pod = pod_manifest(make_job(preset=PRESETS["gpu"]), config)
    assert pod["spec"]["nodeSelector"] == {config.conventions.gpu_model_label: "nvidia-tesla-t4"}
    any_model = pod_manifest(make_job(preset=PRESETS["gpu-any-model"]), config)
    assert "nodeSelector" not in any_model["spec"]


def test_a_cpu_job_has_no_gpu_resource_or_toleration() -> None:
    pod = pod_manifest(make_job(preset=PRESETS["cpu"]), CONFIGS["gke"])
    assert "nvidia.com/gpu" not in container(pod)["resources"]["limits"]
    assert "tolerations" not in pod["spec"]
    assert "nodeSelector" not in pod["spec"]


def test_a_gpu_resource_and_taint_of_ones_own() -> None:
    conventions = parse_conventions({"gpu_resource": "amd.com/gpu", "gpu_taint": None})
    pod = pod_manifest(make_job(preset=PRESETS["gpu"]), PodConfig(conventions=conventions))
    assert container(pod)["resources"]["limits"]["amd.com/gpu"] == "1"
    assert "nvidia.com/gpu" not in container(pod)["resources"]["limits"]
    assert "tolerations" not in pod["spec"]


@pytest.mark.parametrize("config_name", sorted(CONFIGS))
def test_preemptible_jobs_require_spot_nodes_and_tolerate_them(config_name: str) -> None:
    config = CONFIGS[config_name]
    conventions = config.conventions
    pod = pod_manifest(make_job(preset=PRESETS["cpu-spot"]), config)
    assert required_terms(pod) == [
        {
            "matchExpressions": [
                {
                    "key": conventions.spot_label,
                    "operator": "In",
                    "values": [conventions.spot_value],
                }
            ]
        }
    ]
    tolerations = pod["spec"].get("tolerations", [])
    if conventions.spot_taint is None:
        assert tolerations == []
    else:
        assert tolerations == [conventions.spot_taint.toleration()]
    assert pod["spec"]["priorityClassName"] == config.preemptible_priority_class


@pytest.mark.parametrize("config_name", sorted(CONFIGS))
def test_on_demand_jobs_stay_off_spot_nodes(config_name: str) -> None:
    conventions = CONFIGS[config_name].conventions
    pod = pod_manifest(make_job(preset=PRESETS["gpu"]), CONFIGS[config_name])
    [term] = required_terms(pod)
    assert term["matchExpressions"] == [
        {"key": conventions.spot_label, "operator": "NotIn", "values": [conventions.spot_value]}
    ]
    spot_taint = conventions.spot_taint
    assert spot_taint is None or spot_taint.toleration() not in pod["spec"]["tolerations"]


def test_on_demand_jobs_may_use_spot_nodes_where_the_conventions_allow() -> None:
    config = PodConfig(conventions=parse_conventions({"base": "gke", "keep_off_spot": False}))
    assert "affinity" not in pod_manifest(make_job(), config)["spec"]


def test_the_spot_examples_of_the_clouds() -> None:
    spot = make_job(preset=PRESETS["cpu-spot"])
    aks = pod_manifest(spot, CONFIGS["aks"])["spec"]
    assert aks["tolerations"] == [
        {
            "key": "kubernetes.azure.com/scalesetpriority",
            "operator": "Equal",
            "value": "spot",
            "effect": "NoSchedule",
        }
    ]
    karpenter = pod_manifest(spot, CONFIGS["karpenter"])
    assert required_terms(karpenter)[0]["matchExpressions"][0] == {
        "key": "karpenter.sh/capacity-type",
        "operator": "In",
        "values": ["spot"],
    }
    gpu = pod_manifest(make_job(preset=PRESETS["gpu"]), CONFIGS["gke"])["spec"]
    assert gpu["nodeSelector"] == {"cloud.google.com/gke-accelerator": "nvidia-tesla-t4"}


def test_the_presets_own_placement_comes_last() -> None:
    preset = dataclasses.replace(
        PRESETS["placed"],
        gpu_model="nvidia-l4",
        node_selector={"pool": "research", "cloud.google.com/gke-accelerator": "nvidia-a100"},
        tolerations=(
            {"key": "team", "operator": "Equal", "value": "ml", "effect": "NoSchedule"},
            {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},  # a duplicate
        ),
    )
    spec = pod_manifest(make_job(preset=preset), CONFIGS["gke"])["spec"]
    assert spec["nodeSelector"] == {
        "cloud.google.com/gke-accelerator": "nvidia-a100",
        "pool": "research",
    }
    assert spec["tolerations"] == [
        {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"},
        {"key": "team", "operator": "Equal", "value": "ml", "effect": "NoSchedule"},
    ]
    assert spec["priorityClassName"] == "research-high"


@pytest.mark.parametrize(
    ("preset_name", "expected"),
    [("cpu", "on-demand"), ("cpu-spot", "spot"), ("placed", "research-high")],
)
def test_priority_classes(preset_name: str, expected: str) -> None:
    config = PodConfig(priority_class="on-demand", preemptible_priority_class="spot")
    pod = pod_manifest(make_job(preset=PRESETS[preset_name]), config)
    assert pod["spec"]["priorityClassName"] == expected
    assert "priorityClassName" not in pod_manifest(make_job(), PodConfig())["spec"]
    spot = make_job(preset=PRESETS["cpu-spot"])
    assert pod_manifest(spot, PodConfig())["spec"]["priorityClassName"] == (
        "neuro-jupyter-preemptible"
    )
    no_class = PodConfig(preemptible_priority_class="")
    assert "priorityClassName" not in pod_manifest(spot, no_class)["spec"]


def test_a_gpu_model_that_is_no_label_value_is_refused() -> None:
    preset = dataclasses.replace(PRESETS["gpu"], gpu_model="NVIDIA A100 80GB")
    with pytest.raises(InvalidSpec, match="GPU model 'NVIDIA A100 80GB' cannot select nodes") as e:
        pod_manifest(make_job(preset=preset), PodConfig())
    assert e.value.field == "preset"


@pytest.mark.parametrize(
    ("policy", "expected"),
    [
        (RestartPolicy.NEVER, "Never"),
        (RestartPolicy.ON_FAILURE, "OnFailure"),
        (RestartPolicy.ALWAYS, "Always"),
    ],
)
def test_restart_policies(policy: RestartPolicy, expected: str) -> None:
    spec = JobSpec(image="python", restart=policy)
    assert pod_manifest(make_job(spec), PodConfig())["spec"]["restartPolicy"] == expected


def test_command_workdir_and_port() -> None:
    pod = pod_manifest(make_job(), PodConfig())
    assert container(pod)["args"] == [
        "python",
        "train.py",
        "--data",
        "/data",
        "--out",
        "/home/out dir",
    ]
    assert "command" not in container(pod)  # the image's ENTRYPOINT stays, as on Neu.ro
    assert container(pod)["workingDir"] == "/home"
    assert container(pod)["ports"] == [{"name": "http", "containerPort": 8888, "protocol": "TCP"}]
    bare = container(pod_manifest(make_job(JobSpec(image="python")), PodConfig()))
    assert not {"args", "workingDir", "ports", "imagePullPolicy"} & set(bare)


def test_a_command_that_cannot_be_split_is_refused() -> None:
    with pytest.raises(InvalidSpec, match="cannot be split"):
        pod_manifest(make_job(JobSpec(image="python", command="echo 'x")), PodConfig())


def test_image_pull_policy_service_account_and_grace() -> None:
    spec = pod_manifest(make_job(), CONFIGS["custom"])["spec"]
    assert spec["containers"][0]["imagePullPolicy"] == "IfNotPresent"
    assert spec["serviceAccountName"] == "jobs"
    assert spec["automountServiceAccountToken"] is False  # jobs get no API credentials
    assert spec["enableServiceLinks"] is False
    assert spec["terminationGracePeriodSeconds"] == 30
    assert "serviceAccountName" not in pod_manifest(make_job(), PodConfig())["spec"]


# -- environment: the rule both backends share ------------------------------------


def test_the_environment_is_the_local_backends_rule(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "secret")
    monkeypatch.setenv("NEURO_API_TOKEN", "secret")
    addresses = JobAddresses(
        public_url="https://hub.example.com/user/alice/", base_url="/user/alice/"
    )
    job = make_job()
    env = env_of(pod_manifest(job, PodConfig(), addresses))
    expected = job_environment(job, (), {}, addresses)
    del expected["CUDA_VISIBLE_DEVICES"]  # the device plugin gives a pod its GPUs
    assert env == expected
    assert env["EPOCHS"] == "3"
    assert env["NEURO_JOB_ID"] == job.id
    assert env["NEURO_JOB_OWNER"] == "alice"
    assert env["NEURO_JOB_NAME"] == "train"
    assert env["NEURO_JOB_PRESET"] == "cpu-small"
    assert env["NEURO_JOB_HTTP_PREFIX"] == "/user/alice/neuro/jobs/train--alice"
    assert (
        env["NEURO_JOB_HTTP_URL"] == "https://hub.example.com/user/alice/neuro/jobs/train--alice/"
    )
    assert "JUPYTERHUB_API_TOKEN" not in env and "NEURO_API_TOKEN" not in env
    assert "CUDA_VISIBLE_DEVICES" not in env


def test_the_spec_cannot_claim_another_jobs_identity() -> None:
    spec = JobSpec(image="python", env={"NEURO_JOB_ID": "job-other", "NEURO_JOB_HTTP_URL": "x"})
    job = make_job(spec)
    env = env_of(pod_manifest(job, PodConfig()))
    assert env["NEURO_JOB_ID"] == job.id
    assert "NEURO_JOB_HTTP_URL" not in env


# -- volumes -------------------------------------------------------------------


def test_storage_is_one_claim_with_sub_paths_under_the_owners_folder() -> None:
    spec = SPECS["many volumes"]
    config = PodConfig(storage=StorageClaim("neuro-storage", "users"))
    pod = pod_manifest(make_job(spec, owner="alice@example.com"), config)
    claims = [v for v in pod["spec"]["volumes"] if "persistentVolumeClaim" in v]
    assert claims == [{"name": "storage", "persistentVolumeClaim": {"claimName": "neuro-storage"}}]
    mounts = mounts_of(pod)
    assert mounts["/home"] == {
        "name": "storage",
        "mountPath": "/home",
        "subPath": "users/alice@example.com",
        "readOnly": False,
    }
    assert mounts["/mnt/a"]["subPath"] == "users/alice@example.com/a"
    assert mounts["/mnt/a"]["readOnly"] is True
    assert mounts["/mnt/b"]["subPath"] == "users/alice@example.com/a/b"
    assert mounts["/mnt/b"]["readOnly"] is False
    assert mounts["/dev/shm/c"]["subPath"] == "users/alice@example.com/c"


def test_a_job_without_volumes_mounts_no_claim() -> None:
    pod = pod_manifest(make_job(JobSpec(image="python")), PodConfig())
    assert [v["name"] for v in pod["spec"]["volumes"]] == ["dshm"]


@pytest.mark.parametrize("preset_name", ["cpu", "gpu-spot"])
def test_dev_shm_is_memory_backed_and_sized_by_the_preset(preset_name: str) -> None:
    preset = PRESETS[preset_name]
    pod = pod_manifest(make_job(preset=preset), PodConfig())
    [shm] = [v for v in pod["spec"]["volumes"] if v["name"] == "dshm"]
    limit = container(pod)["resources"]["limits"]["memory"]
    assert shm == {"name": "dshm", "emptyDir": {"medium": "Memory", "sizeLimit": limit}}
    assert mounts_of(pod)["/dev/shm"] == {"name": "dshm", "mountPath": "/dev/shm"}


def test_storage_on_dev_shm_is_refused() -> None:
    spec = JobSpec(image="python", volumes=(Volume("x", "/dev/shm"),))
    with pytest.raises(InvalidSpec, match="shared memory") as e:
        pod_manifest(make_job(spec), PodConfig())
    assert e.value.field == "volumes"


@pytest.mark.parametrize(
    ("root", "owner", "volume", "sub_path"),
    [
        ("", "alice", Volume("", "/m"), "alice"),
        ("", "alice", Volume("a/b", "/m"), "alice/a/b"),
        ("", "alice", Volume("/alice", "/m"), "alice"),
        ("", "alice", Volume("/alice/x", "/m"), "alice/x"),
        ("users/", "bob", Volume("./x/", "/m"), "users/bob/x"),
        ("/srv//home", "bob", Volume("x", "/m"), "srv/home/bob/x"),
    ],
)
def test_storage_sub_paths(root: str, owner: str, volume: Volume, sub_path: str) -> None:
    assert storage_sub_path(StorageClaim("c", root), owner, volume) == sub_path


@pytest.mark.parametrize(
    ("owner", "volume", "message"),
    [
        ("alice", Volume("/bob/x", "/m"), r"another user's storage \(bob\)"),
        ("alice", Volume("/", "/m"), r"another user's storage \(/\)"),
        ("alice", Volume("a/../../bob", "/m"), "must not contain '..'"),
        ("..", Volume("", "/m"), "cannot name a storage folder"),
    ],
)
def test_storage_outside_the_owners_folder_is_refused(
    owner: str, volume: Volume, message: str
) -> None:
    with pytest.raises(InvalidSpec, match=message) as e:
        storage_sub_path(StorageClaim(), owner, volume)
    assert e.value.field == "volumes"


# -- life span -------------------------------------------------------------------


def test_the_deadline_is_the_life_span_plus_the_margin() -> None:
    assert active_deadline(3600, 86400) == 90000
    assert active_deadline(3600, 0) == 3600
    assert active_deadline(0, 86400) is None  # no limit, no deadline
    assert active_deadline(60, -5) == 60
    spec = pod_manifest(make_job(), PodConfig(life_span_margin=600))["spec"]
    assert spec["activeDeadlineSeconds"] == 3 * 3600 + 600
    unlimited = pod_manifest(make_job(SPECS["no life span"]), PodConfig())["spec"]
    assert "activeDeadlineSeconds" not in unlimited


def test_a_bump_leaves_the_pods_deadline_as_it_was() -> None:
    # bump-life-span moves the service's clock only: Kubernetes may shorten a
    # running pod's deadline, never extend it, so the pod is made with room for bumps.
    job = make_job()
    bumped = job.with_spec(dataclasses.replace(job.spec, life_span=job.spec.life_span + 3600))
    config = PodConfig(life_span_margin=86400)
    made = pod_manifest(job, config)["spec"]["activeDeadlineSeconds"]
    assert made >= bumped.spec.life_span  # the bump fits within the margin
    assert DEADLINE_EXCEEDED == "DeadlineExceeded"


def test_the_builder_is_pure() -> None:
    job = make_job(preset=PRESETS["placed"])
    config = CONFIGS["gke"]
    first = pod_manifest(job, config)
    first["spec"]["tolerations"].append({"key": "changed"})
    first["spec"]["nodeSelector"]["x"] = "y"
    assert pod_manifest(job, config) != first
    assert dict(PRESETS["placed"].node_selector) == {"pool": "research"}
    assert len(PRESETS["placed"].tolerations) == 1
    assert pod_manifest(job, config) == pod_manifest(job, config)  # no clock, no randomness


def test_the_checks_catch_what_kubernetes_would_refuse() -> None:
    # The harness is not vacuous: the schema catches unknown fields and wrong
    # types, our own checks the enums and label syntax the schema leaves out.
    good = pod_manifest(make_job(), PodConfig())
    check_pod(good)
    unknown = copy.deepcopy(good)
    unknown["spec"]["activeDeadline"] = 5
    wrong_type = copy.deepcopy(good)
    wrong_type["spec"]["containers"][0]["ports"][0]["containerPort"] = "8888"
    for bad in (unknown, wrong_type):
        with pytest.raises(kubernetes_validate.ValidationError):
            check_pod(bad)
    restart = copy.deepcopy(good)
    restart["spec"]["restartPolicy"] = "Sometimes"
    label = copy.deepcopy(good)
    label["metadata"]["labels"]["neuro-jupyter/owner"] = "alice@example.com"
    for bad in (restart, label):
        with pytest.raises(AssertionError):
            check_pod(bad)
