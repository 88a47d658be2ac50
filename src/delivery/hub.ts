import { Group, type DeliveryCounters, type Encoder } from './group.js';
import { Member, type DirectSource, type MemberHost, type MemberTarget } from './member.js';

/** What a {@link Hub} reports (metrics, tests, the bench). */
export interface DeliveryStats {
  /** Execution groups now. */
  readonly groups: number;
  /** Subscriptions in them. */
  readonly members: number;
  /** Items executed and encoded since start. */
  readonly executions: number;
  /** Payloads reused instead of executed again. */
  readonly executionsSaved: number;
  /** Frames appended to connections. */
  readonly deliveries: number;
}


/**
 * The delivery core's registry: execution groups by key, and their members. A group is
 * made by its first member and removed with its last.
 */
export class Hub<T extends object> implements MemberHost<T> {
  private readonly groups = new Map<string, Group<T>>();
  private members = 0;
  private readonly counters: DeliveryCounters = { executions: 0, reused: 0, deliveries: 0 };

  /** @param shared true for an item that is the same object for every subscriber (a log entry) */
  constructor(private readonly shared: (item: T) => boolean) {}

  /**
   * Opens a member of the group `key` (made with `encoder` when it is new) reading
   * `source` into `target`, and starts it.
   */
  open(key: string, encoder: () => Encoder<T>, source: DirectSource<T>, target: MemberTarget): Member<T> {
    let group = this.groups.get(key);
    if (group === undefined) {
      group = new Group(key, encoder(), this.shared, this.counters);
      this.groups.set(key, group);
    }
    group.size++;
    this.members++;
    const member = new Member(group, source, target, this);
    member.start();
    return member;
  }

  /** @internal A member has ended: the last one out of its group removes the group. */
  left(member: Member<T>): void {
    const group = member.group;
    this.members--;
    if (--group.size === 0 && this.groups.get(group.key) === group) this.groups.delete(group.key);
  }

  /** Counters and sizes now. */
  stats(): DeliveryStats {
    const { executions, reused, deliveries } = this.counters;
    return { groups: this.groups.size, members: this.members, executions, executionsSaved: reused, deliveries };
  }
}
