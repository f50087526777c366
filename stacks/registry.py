"""Register stacks from `stacks/*.yaml` with ZenML: idempotent, never prompts, works offline."""

from __future__ import annotations

from typing import TYPE_CHECKING

from core.errors import ConfigError
from stacks.spec import StackSpec, load_stack_spec

if TYPE_CHECKING:
    from zenml.client import Client
    from zenml.enums import StackComponentType

DEFAULT_STACK = "local"
ZENML_BARE_STACK = "default"


def register_stack(client: Client, spec: StackSpec) -> bool:
    """Create or update the stack and its components to match `spec`; True if anything changed."""
    from zenml.enums import StackComponentType

    changed = False
    for flavor in spec.flavors:
        changed |= _register_flavor(client, flavor.source, StackComponentType(flavor.type))
    components: dict[StackComponentType, str] = {}
    for type_name, component in spec.components.items():
        component_type = StackComponentType(type_name)
        components[component_type] = component.name
        existing = client.list_stack_components(type=component_type, name=component.name)
        if not existing.items:
            try:
                client.create_stack_component(
                    name=component.name,
                    flavor=component.flavor,
                    component_type=component_type,
                    configuration=component.configuration,
                )
            except (ValueError, KeyError) as error:  # ZenML's pydantic check of the configuration
                raise _component_error(spec.name, component.name, error) from None
            changed = True
            continue
        current = client.get_stack_component(component_type, component.name)
        if current.flavor_name != component.flavor:
            raise ConfigError(
                f"stack '{spec.name}': component '{component.name}' exists with flavor "
                f"'{current.flavor_name}', not '{component.flavor}'; rename one of them"
            )
        if _differs(current.configuration, component.configuration):
            try:
                client.update_stack_component(
                    component.name, component_type, configuration=component.configuration
                )
            except (ValueError, KeyError) as error:
                raise _component_error(spec.name, component.name, error) from None
            changed = True

    stacks = client.list_stacks(name=spec.name)
    if not stacks.items:
        client.create_stack(name=spec.name, components=components)
        return True
    current_components = {
        component_type: [c.name for c in items]
        for component_type, items in client.get_stack(spec.name).components.items()
    }
    wanted = {component_type: [name] for component_type, name in components.items()}
    if current_components != wanted:
        removed: dict[StackComponentType, list[str]] = {t: [] for t in current_components if t not in wanted}
        client.update_stack(spec.name, component_updates={**removed, **components})
        changed = True
    return changed


def _component_error(stack: str, component: str, error: Exception) -> ConfigError:
    from pydantic import ValidationError

    from core.config_files import describe_validation_error

    if isinstance(error, ValidationError):
        reason = describe_validation_error(error, "configuration")
    else:
        reason = " ".join(str(error).split())
    return ConfigError(f"stack '{stack}': component '{component}': {reason}")


def _register_flavor(client: Client, source: str, component_type: StackComponentType) -> bool:
    """Register a project flavor, or point a known one of that name and type at `source` (where
    an earlier layout of the project kept it); True if anything changed."""
    from zenml.models import FlavorUpdate
    from zenml.stack.flavor import validate_flavor_source

    _, flavor = validate_flavor_source(source=source, component_type=component_type)
    known = client.list_flavors(name=flavor.name, type=component_type).items
    if not known:
        client.create_flavor(source=source, component_type=component_type)
        return True
    if known[0].source == source:
        return False
    client.zen_store.update_flavor(known[0].id, FlavorUpdate(source=source))
    return True


def ensure_project_stack(client: Client) -> str | None:
    """Activate the `local` stack when ZenML's bare `default` is active; returns its name if so.

    A stack the user chose with `zenml stack set` is left alone.
    """
    if client.active_stack_model.name != ZENML_BARE_STACK:
        return None
    register_stack(client, load_stack_spec(DEFAULT_STACK))
    client.activate_stack(DEFAULT_STACK)
    return DEFAULT_STACK


def _differs(current: dict[str, object], wanted: dict[str, object]) -> bool:
    return any(current.get(key) != value for key, value in wanted.items()) or any(
        key not in wanted and value is not None for key, value in current.items()
    )
