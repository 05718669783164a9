"""ECS: gap 3 (a service keeps what it was created with) and gap 4 (services start tasks), wired here.

Gap 3 — moto's ECS services do not keep ``availabilityZoneRebalancing`` (nor, in 5.2.5,
``healthCheckGracePeriodSeconds``, ``enableECSManagedTags`` and ``enableExecuteCommand``), so
every plan after apply shows a diff. The values sent to CreateService are stored on the service
and returned by DescribeServices (UpdateService already stores what it is sent).

Gap 4 — moto runs no containers, so a service never has a task and a deployment's outcome cannot
be seen. The task model (``ecs_tasks``) sees every change to a service (CreateService,
UpdateService, DeleteService) and is advanced to now before every read (DescribeServices,
ListTasks, DescribeTasks); moto's own state machine never moves the model's tasks
(``Task.advance``). moto's ``ListTasks`` ignores ``serviceName``; the filter is applied here.
The reads answer as the API reference documents them (``ecs_reads``): ListTasks in pages of at
most 100 with ``nextToken`` and ``startedBy`` as its only filter, DescribeTasks for at most 100
tasks, DescribeTaskDefinition by family alone with the latest ACTIVE revision, and, when switched on, a new deployment not yet listed (eventual consistency), a
crash-looping hour of stopped tasks, a throttling burst.
The rest of gap 4's wiring sits with the service it touches: target health in elbv2.py, the
tasks' network interfaces in ec2.py.

AWS documentation followed (Amazon ECS API Reference):
- CreateService, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html
- Service (what DescribeServices returns),
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Service.html
- UpdateService (a new task definition or forceNewDeployment starts a deployment),
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_UpdateService.html
- ListTasks (serviceName: only that service's tasks; paging; startedBy the only filter),
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ListTasks.html
- DescribeTasks (up to 100 tasks),
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTasks.html
- DescribeTaskDefinition ("if a revision isn't specified, the latest ACTIVE revision is used"),
  https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_DescribeTaskDefinition.html
The task model's own sources: ecs_tasks.py; the reads': ecs_reads.py.
"""

from __future__ import annotations

from cli.emulator import ecs_reads, ecs_tasks
from cli.emulator.patching import add_route, installer, replace

GAPS = (3, 4)


def reset() -> None:
    ecs_tasks.reset()


def patch_responses() -> None:
    from moto.ecs.responses import EC2ContainerServiceResponse as Response

    original_create_service = Response.create_service

    @replace(Response, "create_service", gap=3)
    def create_service(self):
        result = original_create_service(self)
        service = result.result["service"]
        service.availability_zone_rebalancing = self._get_param("availabilityZoneRebalancing") or "DISABLED"
        service.health_check_grace_period_seconds = self._get_param("healthCheckGracePeriodSeconds")
        service.enable_ecs_managed_tags = bool(self._get_param("enableECSManagedTags"))
        service.enable_execute_command = bool(self._get_param("enableExecuteCommand"))
        return result

    # Gap 4: the task model sees every change to a service and runs before every read.
    create_service_keeping_settings = Response.create_service

    @replace(Response, "create_service", gap=4)
    def create_service_with_tasks(self):
        result = create_service_keeping_settings(self)
        ecs_tasks.on_create(self.ecs_backend, result.result["service"], self._get_param("deploymentConfiguration"))
        return result

    original_update_service = Response.update_service

    @replace(Response, "update_service", gap=4)
    def update_service(self):
        before = self.ecs_backend._get_service(self._get_param("cluster", "default"), self._get_param("service"))
        task_definition = before.task_definition
        result = original_update_service(self)
        service = result.result["service"]
        ecs_tasks.on_update(self.ecs_backend, service, deployment_configuration=None,
                            new_deployment=bool(self._get_param("forceNewDeployment"))
                            or service.task_definition != task_definition)
        return result

    original_delete_service = Response.delete_service

    @replace(Response, "delete_service", gap=4)
    def delete_service(self):
        result = original_delete_service(self)
        ecs_tasks.on_delete(self.ecs_backend, result.result["service"])
        return result

    original_describe_services = Response.describe_services

    @replace(Response, "describe_services", gap=4)
    def describe_services(self):
        ecs_tasks.tick(self.ecs_backend)
        result = original_describe_services(self)
        for service in result.result.get("services", []):
            ecs_tasks.seen_by_describe(service)
        return result

    original_describe_tasks = Response.describe_tasks

    @replace(Response, "describe_tasks", gap=4)
    def describe_tasks(self):
        ecs_reads.check_describe_tasks(self._get_param("tasks"))
        ecs_tasks.tick(self.ecs_backend)
        return original_describe_tasks(self)

    @replace(Response, "list_tasks", gap=4)
    def list_tasks(self):
        from moto.core.responses import ActionResult

        ecs_tasks.tick(self.ecs_backend)
        params = {name: self._get_param(name) for name in ("startedBy", "maxResults", "nextToken",
                                                            *ecs_reads.OTHER_FILTERS)}
        tasks = self.ecs_backend.list_tasks(self._get_param("cluster", "default"), params["containerInstance"],
                                            params["family"], params["startedBy"], params["serviceName"],
                                            params["desiredStatus"])
        return ActionResult(ecs_reads.list_tasks_page(tasks, {k: v for k, v in params.items() if v is not None}))

    def throttled(environ):
        return ecs_reads.throttled(environ, ecs_tasks.take_throttled_read)

    add_route(throttled, gap=4)


def patch_models() -> None:
    from moto.ecs.models import EC2ContainerServiceBackend, Task

    original_list_tasks = EC2ContainerServiceBackend.list_tasks

    @replace(EC2ContainerServiceBackend, "list_tasks", gap=4)
    def list_tasks(self, cluster_str=None, container_instance=None, family=None, started_by=None,
                   service_name=None, desiredStatus=None):
        found = original_list_tasks(self, cluster_str, container_instance, family, started_by, service_name,
                                    desiredStatus)
        if service_name:
            name = service_name.rsplit("/", 1)[-1]
            found = [t for t in found if t.group == f"service:{name}"]
        return found

    original_describe_task_definition = EC2ContainerServiceBackend.describe_task_definition

    @replace(EC2ContainerServiceBackend, "describe_task_definition", gap=4)
    def describe_task_definition(self, task_definition_str):
        # By family alone, "the latest ACTIVE revision is used" (DescribeTaskDefinition); moto's
        # is the latest of any status, a deregistered one too.
        name = task_definition_str.split("/")[-1]
        if ":" not in name and name in self.task_definitions:
            active = [r for r, d in self.task_definitions[name].items() if d.status == "ACTIVE"]
            if active:
                return self.task_definitions[name][max(active)]
        return original_describe_task_definition(self, task_definition_str)

    # The model's tasks are moved on by the model only (ecs_tasks sets their _transitions to []).
    original_advance = Task.advance
    replace(Task, "advance", gap=4)(
        lambda self: None if hasattr(self, "_byoc_service") else original_advance(self))


install = installer(patch_responses, patch_models)
