"""The JSON shapes the simulated Gitea answers with (docs/forge-api.md §2: Comment, Issue,
PullRequest, Repository, Branch, Tag, User, Reaction) and its webhook payloads (§2.9)."""

from __future__ import annotations

import json
from typing import Any

from devworld.forgesim.world import Comment, Issue, Repo, Tag, User, World, fake_sha


class GiteaShapes:
    def __init__(self, world: World, base_url: str) -> None:
        self.world = world
        self.base_url = base_url
        """The forge's root URL (HTML links are built from it)."""

    def user(self, login: str) -> dict[str, Any]:
        u = self.world.users.get(login) or User(-1, "Ghost")
        return {
            "id": u.id,
            "login": u.login,
            "full_name": u.full_name,
            "email": f"{u.login}@noreply.example.org",
            "is_admin": u.is_admin,
            "html_url": f"{self.base_url}/{u.login}",
        }

    def repo_json(self, repo: Repo) -> dict[str, Any]:
        return {
            "id": repo.id,
            "name": repo.name,
            "full_name": repo.full_name,
            "owner": self.user(repo.owner) | {"login": repo.owner},
            "private": repo.private,
            "fork": repo.fork_of is not None,
            "html_url": f"{self.base_url}/{repo.full_name}",
            "clone_url": f"{self.base_url}/{repo.full_name}.git",
            "ssh_url": f"git@example.org:{repo.full_name}.git",
            "default_branch": repo.default_branch,
            "permissions": {"admin": False, "push": False, "pull": True},
        }

    def branch_json(self, repo: Repo, branch: str) -> dict[str, Any]:
        sha = repo.branches[branch]
        return {
            "name": branch,
            "commit": {
                "id": sha,
                "message": f"the head of {branch}",
                "url": f"{self.base_url}/{repo.full_name}/commit/{sha}",
                "timestamp": self.world.iso(self.world.now()),
            },
            "protected": False,
            "user_can_push": False,
            "user_can_merge": False,
        }

    def tag_json(self, repo: Repo, tag: Tag) -> dict[str, Any]:
        base = f"{self.base_url}/{repo.full_name}"
        return {
            "name": tag.name,
            "id": fake_sha("tag", repo.full_name, tag.name),
            "message": tag.name,
            "commit": {
                "sha": tag.sha,
                "url": f"{base}/api/v1/repos/{repo.full_name}/git/commits/{tag.sha}",
                "created": self.world.iso(tag.created),
            },
            "zipball_url": f"{base}/archive/{tag.name}.zip",
            "tarball_url": f"{base}/archive/{tag.name}.tar.gz",
        }

    def comment_json(self, c: Comment) -> dict[str, Any]:
        issue = self.world.issues[(c.repo, c.number)]
        kind = "pulls" if issue.is_pull else "issues"
        html = f"{self.base_url}/{c.repo}/{kind}/{c.number}"
        return {
            "id": c.id,
            "html_url": f"{html}#issuecomment-{c.id}",
            "pull_request_url": html if issue.is_pull else "",
            "issue_url": "" if issue.is_pull else html,
            "user": self.user(c.login),
            "original_author": "",
            "original_author_id": 0,
            "body": c.body,
            "assets": [],
            "created_at": self.world.iso(c.created),
            "updated_at": self.world.iso(c.updated),
        }

    def issue_json(self, i: Issue) -> dict[str, Any]:
        kind = "pulls" if i.is_pull else "issues"
        repo = self.world.repos[i.repo]
        return {
            "id": i.number + 100000,
            "number": i.number,
            "title": i.title,
            "state": i.state,
            "user": self.user(i.login),
            "html_url": f"{self.base_url}/{i.repo}/{kind}/{i.number}",
            "pull_request": (
                {
                    "merged": False,
                    "merged_at": None,
                    "draft": False,
                    "html_url": f"{self.base_url}/{i.repo}/pulls/{i.number}",
                }
                if i.is_pull
                else None
            ),
            "repository": {
                "id": repo.id,
                "name": repo.name,
                "owner": repo.owner,
                "full_name": repo.full_name,
            },
            "created_at": self.world.iso(i.created),
            "updated_at": self.world.iso(i.created),
        }

    def pull_json(self, i: Issue) -> dict[str, Any]:
        base = self.world.repos[i.repo]
        head = self.world.repos.get(i.head_repo or "")
        html = f"{self.base_url}/{i.repo}/pulls/{i.number}"
        return {
            "id": i.number + 200000,
            "number": i.number,
            "state": i.state,
            "title": i.title,
            "body": "",
            "user": self.user(i.login),
            "draft": False,
            "merged": False,
            "mergeable": True,
            "html_url": html,
            "url": html,
            "diff_url": html + ".diff",
            "patch_url": html + ".patch",
            "created_at": self.world.iso(i.created),
            "updated_at": self.world.iso(i.created),
            "closed_at": None,
            "merged_at": None,
            "labels": [],
            "comments": len(self.world.comments_on(i.repo, i.number)),
            "head": {
                "label": i.head_ref,
                "ref": i.head_ref if head else f"refs/pull/{i.number}/head",
                "sha": i.head_sha,
                "repo_id": head.id if head else -1,
                "repo": self.repo_json(head) if head else None,
            },
            "base": {
                "label": i.base_ref,
                "ref": i.base_ref,
                "sha": "0" * 40,
                "repo_id": base.id,
                "repo": self.repo_json(base),
            },
        }

    def reaction_json(self, r: dict[str, Any]) -> dict[str, Any]:
        return {
            "user": self.user(r["login"]),
            "content": r["content"],
            "created_at": self.world.iso(r["at"]),
        }

    # --- webhooks -------------------------------------------------------------------------

    def hook_payload(self, c: Comment, action: str = "created") -> dict[str, Any]:
        """Gitea's IssueCommentPayload for a comment (docs/forge-api.md §2.9)."""
        with self.world.lock:
            issue = self.world.issues[(c.repo, c.number)]
            payload = {
                "action": action,
                "issue": self.issue_json(issue),
                "comment": self.comment_json(c),
                "repository": self.repo_json(self.world.repos[c.repo]),
                "sender": self.user(c.login),
                "is_pull": issue.is_pull,
            }
            if issue.is_pull:
                payload["pull_request"] = self.pull_json(issue)
            return payload


def hook_body(payload: dict[str, Any]) -> bytes:
    """Gitea pretty-prints its payloads (MarshalIndent)."""
    return json.dumps(payload, indent=2).encode()
