import { RemovalPolicy } from 'aws-cdk-lib';
import * as ec2 from 'aws-cdk-lib/aws-ec2';
import * as logs from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { APP_PORT } from '../../runtime/limits';

export interface NetworkProps {
  /**
   * NAT gateways for the private subnets: one per AZ for HA, or one shared to save cost. 0 has
   * no NAT and no private subnets with egress: tasks run in the public subnets with public IPs
   * and security groups that admit nothing from the internet, and the internal ALB sits in
   * isolated subnets.
   * @default 1
   */
  readonly natGateways?: number;
  /**
   * Lay the subnets out so that `natGateways` can change on a deployed VPC: public subnets
   * sized for tasks (/20), the isolated ones, then the private task subnets, reserved (no
   * resources) while there is no NAT gateway. Adding or removing NAT then only adds or removes
   * the private task subnets. Without it the layout follows `natGateways` (public /24 for NAT
   * only when there is NAT), and changing between 0 and more replaces every subnet, the
   * database's with them: CloudFormation cannot even create a new public /24 inside the old /20.
   * @default false
   */
  readonly natSwitchable?: boolean;
  /**
   * Ports the internal ALB listens on, open to the VPC's own addresses only.
   * @default [80]
   */
  readonly albListenerPorts?: readonly number[];
  /**
   * Port the APP container listens on, reached only from the ALB.
   * @default APP_PORT (3000)
   */
  readonly appPort?: number;
  /**
   * PostgreSQL port, reached only from APP and worker tasks.
   * @default 5432
   */
  readonly databasePort?: number;
  /**
   * Whether the deployment has an ElastiCache: only then is there a cache security group.
   * @default true
   */
  readonly cache?: boolean;
  /**
   * Redis port, reached only from APP and worker tasks.
   * @default 6379
   */
  readonly cachePort?: number;
  /**
   * Retention of the VPC flow log group.
   * @default logs.RetentionDays.ONE_MONTH
   */
  readonly flowLogRetention?: logs.RetentionDays;
  /**
   * What happens to the flow log group when the stack is deleted.
   * @default RemovalPolicy.RETAIN
   */
  readonly removalPolicy?: RemovalPolicy;
}

const MAX_AZS = 2;
const VPC_CIDR = '10.0.0.0/16';

/**
 * A VPC over two AZs (public subnets for the NAT gateways, private subnets with egress for the
 * internal ALB and the tasks, isolated subnets for RDS and Redis), flow logs, and the security
 * groups with the least access: the VPC (where CloudFront's VPC origin places its network
 * interfaces) to the ALB, ALB to APP on its port, tasks to RDS and to Redis (with `cache`) on
 * theirs, nothing else inbound.
 */
export class Network extends Construct {
  readonly vpc: ec2.Vpc;
  readonly albSecurityGroup: ec2.SecurityGroup;
  readonly appSecurityGroup: ec2.SecurityGroup;
  readonly workerSecurityGroup: ec2.SecurityGroup;
  readonly databaseSecurityGroup: ec2.SecurityGroup;
  /** Undefined without a cache (`cache: false`). */
  readonly cacheSecurityGroup?: ec2.SecurityGroup;
  /** Where APP and worker tasks run: private with egress, or public without a NAT gateway. */
  readonly taskSubnets: ec2.SubnetSelection;
  /** Where the internal ALB runs: never a public subnet. */
  readonly albSubnets: ec2.SubnetSelection;
  /** Tasks need a public IP to reach ECR and AWS APIs when there is no NAT gateway. */
  readonly tasksNeedPublicIp: boolean;

  constructor(scope: Construct, id: string, props: NetworkProps = {}) {
    super(scope, id);
    const natGateways = props.natGateways ?? 1;
    const natSwitchable = props.natSwitchable ?? false;
    const albListenerPorts = props.albListenerPorts ?? [80];
    const appPort = props.appPort ?? APP_PORT;
    const databasePort = props.databasePort ?? 5432;
    const cache = props.cache ?? true;
    const cachePort = props.cachePort ?? 6379;
    const flowLogRetention = props.flowLogRetention ?? logs.RetentionDays.ONE_MONTH;
    const removalPolicy = props.removalPolicy ?? RemovalPolicy.RETAIN;
    if (!Number.isInteger(natGateways) || natGateways < 0 || natGateways > MAX_AZS) {
      throw new Error(`natGateways must be 0, 1 or ${MAX_AZS} (got ${natGateways})`);
    }
    if (albListenerPorts.length === 0) {
      throw new Error('albListenerPorts must name at least one port (got none)');
    }

    this.vpc = new ec2.Vpc(this, 'Vpc', {
      ipAddresses: ec2.IpAddresses.cidr(VPC_CIDR),
      maxAzs: MAX_AZS,
      natGateways,
      subnetConfiguration: subnetLayout(natGateways, natSwitchable),
      gatewayEndpoints: { S3: { service: ec2.GatewayVpcEndpointAwsService.S3 } },
    });
    this.tasksNeedPublicIp = natGateways === 0;
    this.taskSubnets = {
      subnetType: this.tasksNeedPublicIp
        ? ec2.SubnetType.PUBLIC
        : ec2.SubnetType.PRIVATE_WITH_EGRESS,
    };
    // CloudFront's VPC origin needs the ALB in a private subnet; without a NAT gateway the
    // isolated subnets are the private ones, and the VPC's local route still reaches the tasks.
    this.albSubnets = {
      subnetType: this.tasksNeedPublicIp
        ? ec2.SubnetType.PRIVATE_ISOLATED
        : ec2.SubnetType.PRIVATE_WITH_EGRESS,
    };
    const flowLogGroup = new logs.LogGroup(this, 'FlowLogGroup', {
      retention: flowLogRetention,
      removalPolicy,
    });
    this.vpc.addFlowLog('FlowLog', {
      destination: ec2.FlowLogDestination.toCloudWatchLogs(flowLogGroup),
      trafficType: ec2.FlowLogTrafficType.ALL,
    });

    const group = (groupId: string, description: string, allowAllOutbound: boolean) =>
      new ec2.SecurityGroup(this, groupId, { vpc: this.vpc, description, allowAllOutbound });
    this.albSecurityGroup = group('AlbSecurityGroup', 'Sluice internal ALB: CloudFront in', false);
    // Tasks call AWS APIs and flows' HTTP steps reach the internet, so egress stays open.
    this.appSecurityGroup = group('AppSecurityGroup', 'Sluice APP tasks', true);
    this.workerSecurityGroup = group('WorkerSecurityGroup', 'Sluice worker tasks', true);
    this.databaseSecurityGroup = group('DatabaseSecurityGroup', 'Sluice RDS PostgreSQL', false);
    if (cache) this.cacheSecurityGroup = group('CacheSecurityGroup', 'Sluice ElastiCache', false);

    // CloudFront's VPC origin ENIs get addresses of the ALB's subnets, and its own security
    // group is created by CloudFront (its id is unknown at synth): the VPC CIDR admits them, and
    // nothing outside the VPC can route to an internal ALB.
    for (const port of albListenerPorts) {
      this.albSecurityGroup.addIngressRule(
        ec2.Peer.ipv4(VPC_CIDR),
        ec2.Port.tcp(port),
        `CloudFront VPC origin to listener ${port}`,
      );
    }
    this.appSecurityGroup.addIngressRule(
      this.albSecurityGroup,
      ec2.Port.tcp(appPort),
      'ALB to APP',
    );
    this.albSecurityGroup.addEgressRule(this.appSecurityGroup, ec2.Port.tcp(appPort), 'ALB to APP');
    for (const [tasks, name] of [
      [this.appSecurityGroup, 'APP'],
      [this.workerSecurityGroup, 'worker'],
    ] as const) {
      this.databaseSecurityGroup.addIngressRule(
        tasks,
        ec2.Port.tcp(databasePort),
        `${name} tasks to PostgreSQL`,
      );
      this.cacheSecurityGroup?.addIngressRule(
        tasks,
        ec2.Port.tcp(cachePort),
        `${name} tasks to Redis`,
      );
    }
  }
}

/**
 * The VPC's subnet groups, in CIDR order (CDK allocates them one after another). Each group's
 * name and place must stay put across deployments: a new CIDR replaces the subnet.
 */
function subnetLayout(natGateways: number, natSwitchable: boolean): ec2.SubnetConfiguration[] {
  const publicSubnets = (cidrMask: number) => ({
    name: 'public',
    subnetType: ec2.SubnetType.PUBLIC,
    cidrMask,
  });
  const tasks = { name: 'tasks', subnetType: ec2.SubnetType.PRIVATE_WITH_EGRESS, cidrMask: 20 };
  const data = { name: 'data', subnetType: ec2.SubnetType.PRIVATE_ISOLATED, cidrMask: 24 };
  if (natSwitchable) return [publicSubnets(20), data, { ...tasks, reserved: natGateways === 0 }];
  return natGateways === 0 ? [publicSubnets(20), data] : [publicSubnets(24), tasks, data];
}
