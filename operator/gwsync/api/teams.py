"""Team mapping of a GoogleProvisioning: which Google groups make up which target team."""

from pydantic import Field, field_validator

from gwsync.api.base import ApiModel, cel, first_repeated, validations
from gwsync.api.formats import Email


class TeamMapping(ApiModel):
    """One target team and the Google groups whose members make it up."""

    team: str = Field(min_length=1, max_length=256, description="Display name of the target team.")
    groups: list[Email] = Field(
        min_length=1,
        max_length=100,
        description="Google group emails mapped to this team. The team's SCIM Group carries the first "
        "group's Google id as externalId where the target keeps one. A group here that no longer exists "
        "in Google fails this mapping only (the team is left as it is), unless members.groups names it too.",
    )


class Teams(ApiModel):
    """Google groups mapped to target teams (SCIM groups)."""

    model_config = validations(
        cel(
            "!has(self.mappings) || self.mappings.all(m, self.mappings.exists_one(n, n.team == m.team))",
            "team names must be unique within mappings: merge the groups of a repeated team into one mapping",
            ".mappings",
        )
    )

    enabled: bool = Field(default=False, description="Sync team memberships from the mappings.")
    mappings: list[TeamMapping] = Field(
        default_factory=list, max_length=200, description="Team to Google groups mappings."
    )

    @field_validator("mappings")
    @classmethod
    def _unique_teams(cls, mappings: list[TeamMapping]) -> list[TeamMapping]:
        if (team := first_repeated(mapping.team for mapping in mappings)) is not None:
            raise ValueError(
                f"team '{team}' is mapped twice: team names must be unique within "
                "mappings; merge the groups of a repeated team into one mapping"
            )
        return mappings
