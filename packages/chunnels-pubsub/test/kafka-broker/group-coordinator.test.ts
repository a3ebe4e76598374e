// The group coordinator's state machine on a virtual clock: member ids, generations,
// session expiry and rebalance timeouts.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ErrorCode } from '../support/kafka-broker/api.js';
import type { JoinGroupRequest } from '../support/kafka-broker/codecs/join-group.js';
import { GroupCoordinator } from '../support/kafka-broker/group-coordinator.js';

const G = 'group';
let coordinator: GroupCoordinator;

beforeEach(() => {
  vi.useFakeTimers();
  coordinator = new GroupCoordinator({ minSessionTimeoutMs: 100, maxSessionTimeoutMs: 60_000, partitionExists: () => true });
});
afterEach(() => {
  coordinator.close();
  vi.useRealTimers();
});

const joinRequest = (memberId: string, protocols = ['range']): JoinGroupRequest => ({
  groupId: G,
  sessionTimeoutMs: 1_000,
  rebalanceTimeoutMs: 5_000,
  memberId,
  groupInstanceId: null,
  protocolType: 'consumer',
  protocols: protocols.map((name) => ({ name, metadata: Buffer.from(name) })),
});

/** Joins as a new member (v5: learn the id, then join with it). */
async function newMember(protocols?: string[]) {
  const first = await coordinator.join(joinRequest('', protocols), 5, 'client');
  expect(first.errorCode).toBe(ErrorCode.MEMBER_ID_REQUIRED);
  return first.memberId;
}

/** Two members in generation 2: a alone forms generation 1, b's join makes a rejoin. */
async function twoMembers(): Promise<[string, string]> {
  const a = await newMember();
  await coordinator.join(joinRequest(a), 5, 'client');
  const b = await newMember();
  const bJoin = coordinator.join(joinRequest(b), 5, 'client');
  await coordinator.join(joinRequest(a), 5, 'client');
  expect((await bJoin).generationId).toBe(2);
  return [a, b];
}

describe('GroupCoordinator', () => {
  it('hands a new member an id first (MEMBER_ID_REQUIRED), then makes it leader of generation 1', async () => {
    const id = await newMember();
    expect(id).toMatch(/^client-/);
    const joined = await coordinator.join(joinRequest(id), 5, 'client');
    expect(joined).toMatchObject({ errorCode: ErrorCode.NONE, generationId: 1, leader: id, memberId: id, protocolName: 'range' });
    expect(joined.members.map((m) => m.memberId)).toEqual([id]);
    const sync = await coordinator.sync({ groupId: G, generationId: 1, memberId: id, assignments: [{ memberId: id, assignment: Buffer.from('all') }] });
    expect(sync).toEqual({ errorCode: ErrorCode.NONE, assignment: Buffer.from('all') });
    expect(coordinator.describe(G)!.state).toBe('Stable');
  });

  it('a second member starts a rebalance: the first learns it from its heartbeat, both join generation 2', async () => {
    const a = await newMember();
    await coordinator.join(joinRequest(a), 5, 'client');
    await coordinator.sync({ groupId: G, generationId: 1, memberId: a, assignments: [] });
    const b = await newMember();
    const bJoin = coordinator.join(joinRequest(b), 5, 'client');
    expect(coordinator.heartbeat(G, 1, a)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const aJoin = await coordinator.join(joinRequest(a), 5, 'client');
    const bJoined = await bJoin;
    expect(aJoin.generationId).toBe(2);
    expect(bJoined.generationId).toBe(2);
    expect(aJoin.leader).toBe(a); // the leader stays while it is a member
    expect(aJoin.members).toHaveLength(2);
    expect(bJoined.members).toHaveLength(0);
    // A follower's SyncGroup waits for the leader's assignment.
    const bSync = coordinator.sync({ groupId: G, generationId: 2, memberId: b, assignments: [] });
    await coordinator.sync({ groupId: G, generationId: 2, memberId: a, assignments: [{ memberId: b, assignment: Buffer.from('b') }] });
    expect((await bSync).assignment).toEqual(Buffer.from('b'));
    expect(coordinator.heartbeat(G, 1, a)).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(coordinator.heartbeat(G, 2, 'nobody')).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('removes a member whose session expires, and rebalances the others', async () => {
    const [a] = await twoMembers();
    const gen = coordinator.describe(G)!.generationId;
    await coordinator.sync({ groupId: G, generationId: gen, memberId: a, assignments: [] });
    // a keeps heartbeating, b goes silent.
    for (let t = 0; t < 1_500; t += 250) {
      await vi.advanceTimersByTimeAsync(250);
      coordinator.heartbeat(G, gen, a);
    }
    expect(coordinator.describe(G)!.memberIds).toEqual([a]);
    expect(coordinator.heartbeat(G, gen, a)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    const rejoined = await coordinator.join(joinRequest(a), 5, 'client');
    expect(rejoined.generationId).toBe(gen + 1);
    expect(rejoined.members.map((m) => m.memberId)).toEqual([a]);
  });

  it('drops members that do not rejoin within the rebalance timeout', async () => {
    const [a, b] = await twoMembers();
    // b rejoins (say, its subscription changed); a keeps heartbeating but never rejoins.
    const bJoin = coordinator.join(joinRequest(b), 5, 'client');
    let answered = false;
    void bJoin.then(() => (answered = true));
    for (let t = 0; t < 4_800; t += 200) {
      await vi.advanceTimersByTimeAsync(200);
      expect(coordinator.heartbeat(G, 2, a)).toBe(ErrorCode.REBALANCE_IN_PROGRESS);
    }
    expect(answered).toBe(false);
    await vi.advanceTimersByTimeAsync(300);
    expect((await bJoin).members.map((m) => m.memberId)).toEqual([b]);
    expect(coordinator.describe(G)!.memberIds).toEqual([b]);
  });

  it('refuses a member with no protocol in common, and bad session timeouts', async () => {
    const a = await newMember(['range']);
    await coordinator.join(joinRequest(a), 5, 'client');
    expect((await coordinator.join(joinRequest('', ['roundrobin']), 5, 'client')).errorCode).toBe(ErrorCode.INCONSISTENT_GROUP_PROTOCOL);
    expect((await coordinator.join({ ...joinRequest(''), sessionTimeoutMs: 10 }, 5, 'client')).errorCode).toBe(ErrorCode.INVALID_SESSION_TIMEOUT);
    expect((await coordinator.join(joinRequest('made-up'), 5, 'client')).errorCode).toBe(ErrorCode.UNKNOWN_MEMBER_ID);
  });

  it('keeps commits per group; a commit from a stale generation is refused', async () => {
    const a = await newMember();
    await coordinator.join(joinRequest(a), 5, 'client');
    await coordinator.sync({ groupId: G, generationId: 1, memberId: a, assignments: [] });
    const commit = (generationId: number) =>
      coordinator.commit({ groupId: G, generationId, memberId: a, topics: [{ name: 't', partitions: [{ partition: 0, offset: 42, metadata: null }] }] });
    expect(commit(0).topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.ILLEGAL_GENERATION);
    expect(commit(1).topics[0]!.partitions[0]!.errorCode).toBe(ErrorCode.NONE);
    const fetched = coordinator.fetchOffsets({ groupId: G, topics: [{ name: 't', partitions: [0, 1] }] });
    expect(fetched.topics[0]!.partitions.map((p) => p.offset)).toEqual([42, -1]);
    expect(coordinator.fetchOffsets({ groupId: G, topics: null }).topics).toEqual([
      { name: 't', partitions: [{ partition: 0, offset: 42, metadata: '', errorCode: ErrorCode.NONE }] },
    ]);
  });
});
