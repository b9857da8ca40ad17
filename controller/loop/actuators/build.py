"""Make the configured actuators, in order. The modem actuator needs the open modem device."""

from __future__ import annotations

from controller.config.actuators import (
    ActuatorSettings,
    CommandActuatorSettings,
    HttpActuatorSettings,
    KamailioActuatorSettings,
    ModemActuatorSettings,
)
from controller.loop.actuators.base import Actuator
from controller.loop.actuators.command import CommandActuator
from controller.loop.actuators.http import HttpActuator
from controller.loop.actuators.kamailio import KamailioActuator
from controller.loop.actuators.modem import ForwardingDevice, ModemActuator


def build_actuators(
    settings: tuple[ActuatorSettings, ...], device: ForwardingDevice | None
) -> list[Actuator]:
    out: list[Actuator] = []
    for s in settings:
        if isinstance(s, ModemActuatorSettings):
            if device is None:
                raise ValueError("the modem actuator needs a modem")
            out.append(ModemActuator(s, device))
        elif isinstance(s, KamailioActuatorSettings):
            out.append(KamailioActuator(s))
        elif isinstance(s, HttpActuatorSettings):
            out.append(HttpActuator(s))
        elif isinstance(s, CommandActuatorSettings):
            out.append(CommandActuator(s))
    return out
