"""The deployment's configuration: one YAML file, one frozen pydantic model.

``model`` holds the model (every section, its validators and the cross-field checks), ``loading``
reads a file into it (``load_config``, ``ConfigError`` with ``path: message`` problems), and
``actuators`` the actuators' and the loop's settings. The names below are importable from here.
"""

from controller.config.loading import ConfigError, load_config, parse_config, problems_of
from controller.config.model import (
    Api,
    ApiToken,
    ComponentKind,
    ComponentSettings,
    Coordination,
    Failover,
    HotlineConfig,
    HotlineSettings,
    Lines,
    LineSettings,
    ModemSettings,
    NodeSettings,
    Oncall,
    OncallOverride,
    PbxCluster,
    Role,
    Rotation,
    Route,
    Schedule,
    Technician,
    ZooKeeperSettings,
)

__all__ = [
    "Api",
    "ApiToken",
    "ComponentKind",
    "ComponentSettings",
    "ConfigError",
    "Coordination",
    "Failover",
    "HotlineConfig",
    "HotlineSettings",
    "LineSettings",
    "Lines",
    "ModemSettings",
    "NodeSettings",
    "Oncall",
    "OncallOverride",
    "PbxCluster",
    "Role",
    "Rotation",
    "Route",
    "Schedule",
    "Technician",
    "ZooKeeperSettings",
    "load_config",
    "parse_config",
    "problems_of",
]
