// Consumer groups (Kafka's classic group protocol, as its GroupCoordinator runs it):
//
//   Empty ──join──▶ PreparingRebalance ──all members joined / rebalance timeout──▶
//   CompletingRebalance ──leader's SyncGroup──▶ Stable ──join, leave or session expiry──▶ PreparingRebalance
//
// A JoinGroup is answered only once every known member has rejoined (or the longest
// rebalance timeout has passed, dropping the members that did not); the leader's answer
// lists every member's metadata, it computes the assignment and hands it back in its
// SyncGroup, which answers every member's SyncGroup. Each completed rebalance bumps the
// generation id; requests from an older generation get ILLEGAL_GENERATION, from a
// member that is gone UNKNOWN_MEMBER_ID, and during a rebalance REBALANCE_IN_PROGRESS,
// which sends a client back to JoinGroup. A member that sends no heartbeat for its
// session timeout is removed, which starts a rebalance for the others.
import { randomUUID } from 'node:crypto';
import { ErrorCode } from './api.js';
import type { JoinGroupRequest, JoinGroupResponse } from './codecs/join-group.js';
import type { OffsetCommitRequest, OffsetCommitResponse } from './codecs/offset-commit.js';
import type { OffsetFetchRequest, OffsetFetchResponse } from './codecs/offset-fetch.js';
import type { SyncGroupRequest, SyncGroupResponse } from './codecs/sync-group.js';

export type GroupState = 'Empty' | 'PreparingRebalance' | 'CompletingRebalance' | 'Stable';

export interface GroupCoordinatorOptions {
  /** Smallest session timeout a member may ask for (a real broker's default is 6,000 ms). */
  readonly minSessionTimeoutMs: number;
  readonly maxSessionTimeoutMs: number;
  /** Whether a topic-partition exists (commits to others are refused). */
  readonly partitionExists: (topic: string, partition: number) => boolean;
}

interface Member {
  readonly id: string;
  readonly groupInstanceId: string | null;
  sessionTimeoutMs: number;
  rebalanceTimeoutMs: number;
  protocols: ReadonlyArray<{ readonly name: string; readonly metadata: Buffer }>;
  assignment: Buffer;
  /** Answers this member's JoinGroup, while one waits for the rebalance. */
  awaitingJoin: ((r: JoinGroupResponse) => void) | undefined;
  /** Answers this member's SyncGroup, while one waits for the leader's. */
  awaitingSync: ((r: SyncGroupResponse) => void) | undefined;
  sessionTimer: NodeJS.Timeout | undefined;
}

type Committed = Map<number, { offset: number; metadata: string | null }>;

interface Group {
  readonly id: string;
  state: GroupState;
  generationId: number;
  protocolType: string | null;
  protocol: string | null;
  leaderId: string | null;
  readonly members: Map<string, Member>;
  /** Ids handed out with MEMBER_ID_REQUIRED, not yet used to join. */
  readonly pendingIds: Set<string>;
  rebalanceTimer: NodeJS.Timeout | undefined;
  readonly offsets: Map<string, Committed>;
}

/** A read-only view of a group, for tests. */
export interface GroupSnapshot {
  readonly state: GroupState;
  readonly generationId: number;
  readonly protocol: string | null;
  readonly leaderId: string | null;
  readonly memberIds: string[];
}

const EMPTY = Buffer.alloc(0);

export class GroupCoordinator {
  private readonly groups = new Map<string, Group>();

  constructor(private readonly options: GroupCoordinatorOptions) {}

  describe(groupId: string): GroupSnapshot | undefined {
    const g = this.groups.get(groupId);
    if (g === undefined) return undefined;
    return { state: g.state, generationId: g.generationId, protocol: g.protocol, leaderId: g.leaderId, memberIds: [...g.members.keys()] };
  }

  async join(req: JoinGroupRequest, version: number, clientId: string): Promise<JoinGroupResponse> {
    const fail = (errorCode: number, memberId = req.memberId): JoinGroupResponse => ({
      errorCode,
      generationId: -1,
      protocolName: '',
      leader: '',
      memberId,
      members: [],
    });
    if (req.groupId === '') return fail(ErrorCode.INVALID_GROUP_ID);
    if (req.sessionTimeoutMs < this.options.minSessionTimeoutMs || req.sessionTimeoutMs > this.options.maxSessionTimeoutMs) {
      return fail(ErrorCode.INVALID_SESSION_TIMEOUT);
    }
    const group = this.group(req.groupId);
    if (req.protocolType === '' || req.protocols.length === 0 || !this.compatible(group, req)) {
      return fail(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    }
    let member: Member | undefined;
    if (req.memberId === '') {
      const id = `${clientId || 'member'}-${randomUUID()}`;
      // From v4 a new member first learns its id, then joins with it (KIP-394).
      if (version >= 4) {
        group.pendingIds.add(id);
        // An id never used within a session timeout is forgotten (a client that keeps asking costs no memory).
        setTimeout(() => group.pendingIds.delete(id), req.sessionTimeoutMs).unref();
        return fail(ErrorCode.MEMBER_ID_REQUIRED, id);
      }
      member = this.addMember(group, id, req);
    } else if (group.pendingIds.delete(req.memberId)) {
      member = this.addMember(group, req.memberId, req);
    } else {
      member = group.members.get(req.memberId);
      if (member === undefined) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
      member.protocols = req.protocols;
      member.sessionTimeoutMs = req.sessionTimeoutMs;
      member.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
      // A second JoinGroup from the same member replaces the first.
      member.awaitingJoin?.(fail(ErrorCode.UNKNOWN_MEMBER_ID));
    }
    group.protocolType = req.protocolType;
    const joined = member;
    const response = new Promise<JoinGroupResponse>((resolve) => (joined.awaitingJoin = resolve));
    // While it waits for the rebalance, the rebalance timeout bounds the member, not its session.
    clearTimeout(joined.sessionTimer);
    this.prepareRebalance(group);
    this.maybeCompleteJoin(group);
    return response;
  }

  async sync(req: SyncGroupRequest): Promise<SyncGroupResponse> {
    const fail = (errorCode: number): SyncGroupResponse => ({ errorCode, assignment: EMPTY });
    const group = this.groups.get(req.groupId);
    const member = group?.members.get(req.memberId);
    if (group === undefined || member === undefined) return fail(ErrorCode.UNKNOWN_MEMBER_ID);
    if (req.generationId !== group.generationId) return fail(ErrorCode.ILLEGAL_GENERATION);
    this.touch(group, member);
    if (group.state === 'PreparingRebalance') return fail(ErrorCode.REBALANCE_IN_PROGRESS);
    if (group.state === 'Stable') return { errorCode: ErrorCode.NONE, assignment: member.assignment };
    const response = new Promise<SyncGroupResponse>((resolve) => (member.awaitingSync = resolve));
    if (member.id === group.leaderId) {
      const byMember = new Map(req.assignments.map((a) => [a.memberId, a.assignment]));
      group.state = 'Stable';
      for (const m of group.members.values()) {
        m.assignment = byMember.get(m.id) ?? EMPTY;
        m.awaitingSync?.({ errorCode: ErrorCode.NONE, assignment: m.assignment });
        m.awaitingSync = undefined;
      }
    }
    return response;
  }

  heartbeat(groupId: string, generationId: number, memberId: string): number {
    const group = this.groups.get(groupId);
    const member = group?.members.get(memberId);
    if (group === undefined || member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    this.touch(group, member);
    return group.state === 'PreparingRebalance' ? ErrorCode.REBALANCE_IN_PROGRESS : ErrorCode.NONE;
  }

  leave(groupId: string, memberId: string): number {
    const group = this.groups.get(groupId);
    const member = group?.members.get(memberId);
    if (group === undefined || member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    this.removeMember(group, member);
    return ErrorCode.NONE;
  }

  commit(req: OffsetCommitRequest): OffsetCommitResponse {
    const group = this.group(req.groupId);
    const errorCode = this.commitError(group, req);
    return {
      topics: req.topics.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((p) => {
          if (errorCode !== ErrorCode.NONE) return { partition: p.partition, errorCode };
          if (!this.options.partitionExists(t.name, p.partition)) return { partition: p.partition, errorCode: ErrorCode.UNKNOWN_TOPIC_OR_PARTITION };
          let topic = group.offsets.get(t.name);
          if (topic === undefined) group.offsets.set(t.name, (topic = new Map() as Committed));
          topic.set(p.partition, { offset: p.offset, metadata: p.metadata });
          return { partition: p.partition, errorCode: ErrorCode.NONE };
        }),
      })),
    };
  }

  fetchOffsets(req: OffsetFetchRequest): OffsetFetchResponse {
    const offsets = this.groups.get(req.groupId)?.offsets ?? new Map<string, Committed>();
    const wanted = req.topics ?? [...offsets].map(([name, parts]) => ({ name, partitions: [...parts.keys()] }));
    return {
      errorCode: ErrorCode.NONE,
      topics: wanted.map((t) => ({
        name: t.name,
        partitions: t.partitions.map((partition) => {
          const c = offsets.get(t.name)?.get(partition);
          return { partition, offset: c?.offset ?? -1, metadata: c?.metadata ?? '', errorCode: ErrorCode.NONE };
        }),
      })),
    };
  }

  /** Stops every timer (the broker is stopping); waiting requests are answered by closing their connections. */
  close(): void {
    for (const g of this.groups.values()) {
      clearTimeout(g.rebalanceTimer);
      for (const m of g.members.values()) clearTimeout(m.sessionTimer);
    }
    this.groups.clear();
  }

  private group(id: string): Group {
    let g = this.groups.get(id);
    if (g === undefined) {
      g = {
        id,
        state: 'Empty',
        generationId: 0,
        protocolType: null,
        protocol: null,
        leaderId: null,
        members: new Map(),
        pendingIds: new Set(),
        rebalanceTimer: undefined,
        offsets: new Map(),
      };
      this.groups.set(id, g);
    }
    return g;
  }

  /** Same protocol type as the group, and at least one protocol every other member supports. */
  private compatible(group: Group, req: JoinGroupRequest): boolean {
    const others = [...group.members.values()].filter((m) => m.id !== req.memberId);
    if (others.length === 0) return true;
    if (group.protocolType !== req.protocolType) return false;
    return req.protocols.some((p) => others.every((m) => m.protocols.some((q) => q.name === p.name)));
  }

  private commitError(group: Group, req: OffsetCommitRequest): number {
    if (req.generationId < 0 && req.memberId === '') {
      return group.state === 'Empty' ? ErrorCode.NONE : ErrorCode.UNKNOWN_MEMBER_ID;
    }
    const member = group.members.get(req.memberId);
    if (member === undefined) return ErrorCode.UNKNOWN_MEMBER_ID;
    if (req.generationId !== group.generationId) return ErrorCode.ILLEGAL_GENERATION;
    // Between JoinGroup and SyncGroup the member does not know its partitions yet.
    if (group.state === 'CompletingRebalance') return ErrorCode.REBALANCE_IN_PROGRESS;
    this.touch(group, member);
    return ErrorCode.NONE;
  }

  private addMember(group: Group, id: string, req: JoinGroupRequest): Member {
    const member: Member = {
      id,
      groupInstanceId: req.groupInstanceId,
      sessionTimeoutMs: req.sessionTimeoutMs,
      rebalanceTimeoutMs: req.rebalanceTimeoutMs,
      protocols: req.protocols,
      assignment: EMPTY,
      awaitingJoin: undefined,
      awaitingSync: undefined,
      sessionTimer: undefined,
    };
    group.members.set(id, member);
    return member;
  }

  private removeMember(group: Group, member: Member): void {
    clearTimeout(member.sessionTimer);
    group.members.delete(member.id);
    member.awaitingJoin?.({ errorCode: ErrorCode.UNKNOWN_MEMBER_ID, generationId: -1, protocolName: '', leader: '', memberId: member.id, members: [] });
    member.awaitingSync?.({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS, assignment: EMPTY });
    member.awaitingJoin = undefined;
    member.awaitingSync = undefined;
    if (group.leaderId === member.id) group.leaderId = null;
    this.prepareRebalance(group);
    this.maybeCompleteJoin(group);
  }

  /** Restarts a member's session timer: it is alive. */
  private touch(group: Group, member: Member): void {
    clearTimeout(member.sessionTimer);
    member.sessionTimer = setTimeout(() => {
      if (group.members.get(member.id) === member && member.awaitingJoin === undefined) this.removeMember(group, member);
    }, member.sessionTimeoutMs);
  }

  private prepareRebalance(group: Group): void {
    if (group.state === 'PreparingRebalance') return;
    group.state = 'PreparingRebalance';
    for (const m of group.members.values()) {
      m.awaitingSync?.({ errorCode: ErrorCode.REBALANCE_IN_PROGRESS, assignment: EMPTY });
      m.awaitingSync = undefined;
    }
    const timeout = Math.max(0, ...[...group.members.values()].map((m) => m.rebalanceTimeoutMs));
    clearTimeout(group.rebalanceTimer);
    group.rebalanceTimer = setTimeout(() => {
      // Members that did not rejoin in time are dropped; the rest form the next generation.
      for (const m of [...group.members.values()]) {
        if (m.awaitingJoin === undefined) {
          clearTimeout(m.sessionTimer);
          group.members.delete(m.id);
          if (group.leaderId === m.id) group.leaderId = null;
        }
      }
      this.completeJoin(group);
    }, timeout);
  }

  private maybeCompleteJoin(group: Group): void {
    if (group.state !== 'PreparingRebalance') return;
    for (const m of group.members.values()) if (m.awaitingJoin === undefined) return;
    this.completeJoin(group);
  }

  private completeJoin(group: Group): void {
    clearTimeout(group.rebalanceTimer);
    group.rebalanceTimer = undefined;
    group.generationId++;
    const members = [...group.members.values()];
    if (members.length === 0) {
      group.state = 'Empty';
      group.protocol = null;
      group.protocolType = null;
      group.leaderId = null;
      return;
    }
    group.protocol = this.electProtocol(members);
    group.leaderId = group.leaderId !== null && group.members.has(group.leaderId) ? group.leaderId : members[0]!.id;
    group.state = 'CompletingRebalance';
    const protocol = group.protocol;
    const metadata = members.map((m) => ({
      memberId: m.id,
      groupInstanceId: m.groupInstanceId,
      metadata: m.protocols.find((p) => p.name === protocol)?.metadata ?? EMPTY,
    }));
    for (const m of members) {
      const answer = m.awaitingJoin!;
      m.awaitingJoin = undefined;
      this.touch(group, m);
      answer({
        errorCode: ErrorCode.NONE,
        generationId: group.generationId,
        protocolName: protocol,
        leader: group.leaderId,
        memberId: m.id,
        members: m.id === group.leaderId ? metadata : [],
      });
    }
  }

  /** Of the protocols every member supports, the one most members list first among them. */
  private electProtocol(members: readonly Member[]): string {
    const common = members[0]!.protocols.map((p) => p.name).filter((name) => members.every((m) => m.protocols.some((p) => p.name === name)));
    const votes = new Map<string, number>();
    for (const m of members) {
      const choice = m.protocols.find((p) => common.includes(p.name))?.name;
      if (choice !== undefined) votes.set(choice, (votes.get(choice) ?? 0) + 1);
    }
    let best = common[0] ?? '';
    for (const [name, n] of votes) if (n > (votes.get(best) ?? 0)) best = name;
    return best;
  }
}
